"""CDK infrastructure of Panic Button: one construct per concern, composed by the stack."""
