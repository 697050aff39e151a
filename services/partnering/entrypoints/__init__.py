"""Partnering's entrypoints: HTTP routes and event handlers."""
