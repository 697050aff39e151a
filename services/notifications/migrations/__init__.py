"""SQL migrations of the `notifications` schema."""
