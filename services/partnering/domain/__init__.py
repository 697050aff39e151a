"""Partnering's domain: local labs, partners, implementations, funding, impact and handover. No I/O here."""
