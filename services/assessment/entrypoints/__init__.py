"""The assessment's entrypoints: HTTP routes and event handlers."""
