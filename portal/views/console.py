"""The operator console's own pages (the console issue adds the rest behind OperatorView)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.views.base import OperatorView, Permission


class ConsoleHomeView(OperatorView):
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "console/home.html", {"operator": self.operator, "nav": "home"})
