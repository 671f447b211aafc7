"""Queries and mutations, one module per domain: check the viewer, call a service, shape
the answer. No database access here."""
