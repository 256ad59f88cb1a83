"""Error pages in the portal's design: 400/403/404/500 and CSRF failures (never Django's own)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader


def _page(request: HttpRequest, status: int, title: str, message: str, *, action: str = "") -> HttpResponse:
    return render(
        request,
        "rollcall/error.html",
        {"status": status, "title": title, "message": message, "action": action},
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 400, "That request could not be read", "Go back and try again.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        403,
        "You don't have access to this page",
        "Your account cannot open this page. If you think it should, ask an administrator of your account.",
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        404,
        "Page not found",
        "The page you asked for does not exist, or it belongs to another account.",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without the request (no context processors): nothing here may touch the database.
    context = {
        "status": 500,
        "title": "Something went wrong on our side",
        "message": "Your last action may not have been saved. Try again in a minute; if it keeps failing, "
        "contact support with the time it happened.",
    }
    return HttpResponse(loader.get_template("rollcall/error.html").render(context), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(
        request,
        403,
        "This form has expired",
        "For your security, forms stop working after a while or when you sign in again. "
        "Reload the page and submit the form once more.",
    )
