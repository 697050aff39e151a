"""Event contracts of the SchuldenlabNL platform (v1)."""
