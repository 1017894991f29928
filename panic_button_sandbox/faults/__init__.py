"""Fault injection: seeded throttling, 5xx and agent drops in every call the stack makes in the sandbox."""
