"""The assessment's adapters: everything that touches PostgreSQL."""
