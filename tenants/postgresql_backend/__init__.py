"""Rollcall's database backend: django-tenants' schema-switching PostgreSQL backend, minus two round
trips per request (see base.py)."""
