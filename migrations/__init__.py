"""Alembic migrations of the opt-out service's schema (URL from the service's settings)."""
