"""The partnering service."""
