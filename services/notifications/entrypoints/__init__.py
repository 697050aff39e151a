"""Notifications' entrypoints: HTTP routes and event handlers."""
