"""Partnering's use cases."""
