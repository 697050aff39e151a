"""Shared runtime library of the SchuldenlabNL services: config, database, outbox, inbox, consumers, HTTP."""
