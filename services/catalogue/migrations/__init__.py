"""SQL migrations of the `catalogue` schema."""
