"""The sandbox's IAM: each Lambda's calls authorized against its own role, as AWS evaluates them."""
