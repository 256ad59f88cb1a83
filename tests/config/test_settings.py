"""Settings from the environment: hosts from the public URL, HTTPS behind a proxy, quiet checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from django.test import Client

from tests.support.processes import ROOT

DUMP = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.conf import settings as s
    from django.core.management import call_command
    print(json.dumps({
        "ALLOWED_HOSTS": s.ALLOWED_HOSTS, "PUBLIC_BASE_URL": s.PUBLIC_BASE_URL,
        "SESSION_COOKIE_SECURE": s.SESSION_COOKIE_SECURE, "CSRF_COOKIE_SECURE": s.CSRF_COOKIE_SECURE,
        "SECURE_SSL_REDIRECT": s.SECURE_SSL_REDIRECT, "SECURE_HSTS_SECONDS": s.SECURE_HSTS_SECONDS,
        "SECURE_PROXY_SSL_HEADER": s.SECURE_PROXY_SSL_HEADER,
    }))
    call_command("check", "--deploy" if s.SECURE_SSL_REDIRECT else "--fail-level=WARNING")
    """
)


def settings_for(**env: str) -> tuple[dict, str]:
    # A deployment's environment: none of ours, and not the async-unsafe switch the browser tests set.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ROLLCALL_", "ALLOWED_HOSTS")) and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    base.update(DJANGO_SETTINGS_MODULE="config.settings", ROLLCALL_DATA_DIR=str(ROOT / ".data" / "settings-test"))
    base.setdefault("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    base.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")
    base.update(env)
    done = subprocess.run([sys.executable, "-c", DUMP], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[0]), done.stderr + "\n".join(done.stdout.splitlines()[1:])


def test_make_run_defaults_are_plain_http_on_loopback_hosts_and_the_checks_are_silent():
    values, output = settings_for()
    assert values["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]
    assert not values["SESSION_COOKIE_SECURE"] and not values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 0 and values["SECURE_PROXY_SSL_HEADER"] is None
    assert "W004" not in output and "XDG_RUNTIME_DIR" not in output
    assert "System check identified no issues" in output


def test_allowed_hosts_follow_the_public_url():
    values, _ = settings_for(ROLLCALL_PUBLIC_URL="https://rollcall.example.com/")
    assert values["PUBLIC_BASE_URL"] == "https://rollcall.example.com"
    assert values["ALLOWED_HOSTS"][0] == "rollcall.example.com"
    assert "evil.example" not in values["ALLOWED_HOSTS"]
    explicit, _ = settings_for(ROLLCALL_PUBLIC_URL="https://rollcall.example.com", ALLOWED_HOSTS="a.example,b.example")
    assert explicit["ALLOWED_HOSTS"] == ["a.example", "b.example"]


def test_https_turns_on_secure_cookies_hsts_redirect_and_the_proxy_header():
    values, output = settings_for(
        ROLLCALL_HTTPS="1", ROLLCALL_PUBLIC_URL="https://rollcall.example.com", SECRET_KEY="x" * 60 + "-not-default"
    )
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    for check in ("W004", "W008", "W012", "W016"):  # HSTS, SSL redirect, session and CSRF cookies
        assert f"security.{check}" not in output


@pytest.mark.django_db
def test_a_forged_host_header_is_refused(settings):
    settings.ALLOWED_HOSTS = ["rollcall.example.com"]
    assert Client(HTTP_HOST="evil.example").get("/healthz").status_code == 400


@pytest.mark.django_db
def test_behind_the_proxy_http_is_redirected_to_https_but_health_probes_are_not(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    assert client.get("/docs/scim").status_code == 301
    assert client.get("/docs/scim", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    assert client.get("/healthz").status_code in (200, 503)  # answered, not redirected


def test_passwords_are_stored_with_django_s_pbkdf2_in_the_product() -> None:
    """The tests swap in a fast hasher (tests/conftest.py); the product keeps Django's default list."""
    from django.conf import global_settings

    import config.settings as product_settings

    assert not hasattr(product_settings, "PASSWORD_HASHERS")
    assert global_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
