"""The `panic-button` command: simulate, demo, and operate a deployed stack."""
