"""The catalogue's entrypoints: HTTP routes and event handlers, translating into commands."""
