"""ServiceProviderConfig's documentationUri resolves on the deployment itself."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client


@pytest.mark.django_db
def test_documentation_uri_of_service_provider_config_is_served(scim):
    uri = scim.get("/ServiceProviderConfig").body["documentationUri"]
    response = Client().get(urlsplit(uri).path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert b"/ServiceProviderConfig" in response.content
