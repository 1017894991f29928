"""The Organizations deployment: one hub stack and a member stack deployed by a StackSet (docs/organizations.md)."""
