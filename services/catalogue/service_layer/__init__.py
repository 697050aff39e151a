"""The catalogue's use cases: plain handler functions over a unit of work."""
