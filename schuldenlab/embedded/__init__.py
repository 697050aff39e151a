"""Embedded infrastructure for `schuldenlab up`: a local PostgreSQL server and a Kafka-compatible broker."""
