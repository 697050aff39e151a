"""Migrations of the probe service used by the runtime tests."""
