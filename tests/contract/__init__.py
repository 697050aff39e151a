"""Contract tests: schemas, compatibility rules and CloudEvents envelope conformance."""
