from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself (settings, URLs, Celery app, the `make run` supervisor): the top of the
    import graph. An app only so that its management command (rollcall_run) is found."""

    name = "config"
