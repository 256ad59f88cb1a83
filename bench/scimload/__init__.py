"""Side-by-side SCIM load benchmark: Rollcall vs a django-scim2 peer (see bench/README.md)."""
