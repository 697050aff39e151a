"""SQL migrations of the `partnering` schema."""
