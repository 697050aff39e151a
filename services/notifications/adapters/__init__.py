"""Notifications' adapters: everything that touches PostgreSQL."""
