"""WSGI entry point of the benchmark peer: ``gunicorn bench.peer.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.peer.peer_settings")

application = get_wsgi_application()
