"""The interim console's "Add tenant" creates tenants through the service: schema included."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tenants import accounts
from tenants.models import Tenant
from tests.portal.support import totp_now, verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client() -> Client:
    """An admin operator signed in with password and TOTP (Django admin at /console/admin/ needs both)."""
    operator, _ = accounts.ensure_operator(username="console-op", email="op@rollcall.local")
    enrolment = accounts.start_totp_enrolment(user=operator.user, label="console")
    device, _codes = accounts.confirm_totp(user=operator.user, code=totp_now(enrolment.device), ip="127.0.0.9")
    return verified_client(operator.user, device)


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def test_add_tenant_in_the_console_clones_its_schema(operator_client):
    response = operator_client.post("/console/admin/tenants/tenant/add/", {"name": "Globex", "slug": "globex"})
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(slug="globex")
    assert tenant.schema_name == "t_globex" and tenant.schema_name in _schemas()


def test_add_tenant_in_the_console_refuses_bad_input_and_creates_nothing(operator_client, tenant_a):
    before = (Tenant.objects.count(), _schemas())
    for data in ({"name": "Dup", "slug": tenant_a.slug}, {"name": "Bad", "slug": "Bad Slug"}, {"name": " ", "slug": "blank-name"}):
        response = operator_client.post("/console/admin/tenants/tenant/add/", data)
        assert response.status_code == 200  # the form again, with its error
        assert b"errornote" in response.content or b"errorlist" in response.content
    assert (Tenant.objects.count(), _schemas()) == before
