"""Bearer-token authentication for the benchmark peer.

django-scim2 leaves authentication to the project and only checks that ``request.user`` is
authenticated (``GET_IS_AUTHENTICATED_PREDICATE``). This middleware accepts exactly one token,
compared in constant time, and makes the request's user an in-memory bench superuser. The user
is never saved, so it neither costs a query per request nor shows up in ``GET /Users``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse

BENCH_USERNAME = "bench-superuser"


def _bench_superuser():  # type: ignore[no-untyped-def]
    return get_user_model()(username=BENCH_USERNAME, is_superuser=True, is_staff=True, is_active=True)


class BenchTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.expected = f"Bearer {settings.PEER_BENCH_TOKEN}".encode()
        self.superuser = _bench_superuser()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        presented = request.headers.get("Authorization", "").encode()
        if hmac.compare_digest(presented, self.expected):
            request.user = self.superuser
        return self.get_response(request)
