"""The interim console's "Add tenant" creates tenants through the service: schema included."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from tenants.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client() -> Client:
    get_user_model().objects.create_superuser("console-op", "op@rollcall.local", "a-long-password-123")
    client = Client()
    client.force_login(get_user_model().objects.get(username="console-op"))
    return client


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def test_add_tenant_in_the_console_clones_its_schema(operator_client):
    response = operator_client.post("/console/tenants/tenant/add/", {"name": "Globex", "slug": "globex"})
    assert response.status_code == 302, response.content.decode()[:2000]
    tenant = Tenant.objects.get(slug="globex")
    assert tenant.schema_name == "t_globex" and tenant.schema_name in _schemas()


def test_add_tenant_in_the_console_refuses_bad_input_and_creates_nothing(operator_client, tenant_a):
    before = (Tenant.objects.count(), _schemas())
    for data in ({"name": "Dup", "slug": tenant_a.slug}, {"name": "Bad", "slug": "Bad Slug"}, {"name": " ", "slug": "blank-name"}):
        response = operator_client.post("/console/tenants/tenant/add/", data)
        assert response.status_code == 200  # the form again, with its error
        assert b"errornote" in response.content or b"errorlist" in response.content
    assert (Tenant.objects.count(), _schemas()) == before
