"""Panic Button runtime: the domain logic and thin Lambda handlers of the remediation workflow."""
