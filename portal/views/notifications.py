"""Workspace: Notifications. The in-portal list (mark one or all as read) and this admin's email choices."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from portal.views.base import TenantPortalView
from provisioning import notifications
from provisioning.models import Notification
from provisioning.selectors import notifications_page, unread_notification_count

KIND_LABELS: dict[str, tuple[str, str]] = {
    Notification.Kind.UNMAPPED_GROUP: ("A group arrived without a role", "Its members get no role from it until you map it."),
    Notification.Kind.ERROR_RATE_SPIKE: ("Errors spike", "Many of your identity provider's requests fail in a short time."),
    Notification.Kind.TOKEN_EXPIRING: ("A token is about to expire", "A SCIM token stops working within days."),
    Notification.Kind.WEBHOOK_FAILING: ("A webhook keeps failing", "Your app's endpoint refuses or does not answer deliveries."),
    Notification.Kind.PIPELINE_STUCK: ("Provisioning is stuck", "Changes wait behind an event Rollcall cannot apply."),
}


class NotificationsView(TenantPortalView):
    """/portal/notifications: newest first; `?unread=1` shows only the unread ones."""

    def get(self, request: HttpRequest) -> HttpResponse:
        unread_only = request.GET.get("unread") == "1"
        before = _int(request.GET.get("before"))
        rows, next_before = notifications_page(before_id=before, unread_only=unread_only)
        preferences = self.admin.email_preferences or {}
        context = {
            "tenant": self.tenant,
            "nav": "notifications",
            "rows": rows,
            "unread_only": unread_only,
            "unread": unread_notification_count(),
            "next_before": next_before,
            "first_page": before is None,
            "kinds": [
                (kind, label, help_text, notifications.wants_email(preferences, kind))
                for kind, (label, help_text) in KIND_LABELS.items()
            ],
            "email": request.user.email,  # type: ignore[union-attr]
        }
        return render(request, "portal/notifications.html", context)

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action", "")
        if action == "read":
            notifications.mark_read(_int(request.POST.get("notification")) or -1)
        elif action == "read_all":
            count = notifications.mark_all_read()
            messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
        elif action == "preferences":
            wanted = {kind: request.POST.get(f"email_{kind}") == "on" for kind in KIND_LABELS}
            notifications.set_email_preferences(admin=self.admin, wanted=wanted)
            messages.success(request, "Email preferences saved.")
        else:
            messages.error(request, "Unknown action.")
        return redirect(request.get_full_path())


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None
