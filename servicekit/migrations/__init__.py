"""SQL migrations of the runtime library's own tables (outbox, inbox), applied into every service schema."""
