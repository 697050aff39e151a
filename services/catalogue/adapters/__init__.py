"""The catalogue's adapters: everything that touches PostgreSQL."""
