"""The SCIM edge's own short path through Django's middleware.

SCIM requests carry a bearer token: no session, cookie, CSRF token, OTP device, flash message, CSP or
htmx header applies to them, and every one of those middlewares costs time on the hottest path. Placed
right after the request-timing and security middlewares, this one answers /scim/ requests itself (the
SCIM view catches every error and renders it as a SCIM document) and hands everything else on.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import URLResolver, get_resolver

SCIM_PREFIX = "/scim/"


class ScimShortPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._resolver: URLResolver = get_resolver("scim_api.urls")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if not path.startswith(SCIM_PREFIX):
            return self.get_response(request)
        # A urlconf's resolver matches from "/": hand it the path after /scim (the catch-all always matches).
        match = self._resolver.resolve(path[len(SCIM_PREFIX) - 1 :])
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
