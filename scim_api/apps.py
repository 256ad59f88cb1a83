from django.apps import AppConfig


class ScimApiConfig(AppConfig):
    """The SCIM HTTP edge. Its app label stays "scim" (the label it had when the edge and the pure
    protocol shared the `scim` package), so its table and migrations keep their names."""

    name = "scim_api"
    label = "scim"
    default_auto_field = "django.db.models.BigAutoField"
