"""SQL migrations of the `assessment` schema."""
