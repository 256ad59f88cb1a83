"""SCAFFOLD ONLY (deleted before landing): a page reserved in the console's URLs while it is built."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.views.base import OperatorView


class PendingPage(OperatorView):
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return render(request, "console/home.html", {"operator": self.operator, "nav": ""})
