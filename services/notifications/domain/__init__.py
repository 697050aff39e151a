"""Notifications' domain: webhook subscriptions and deliveries. No I/O here."""
