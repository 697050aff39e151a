"""Partnering's adapters: everything that touches PostgreSQL."""
