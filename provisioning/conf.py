"""Pipeline tunables, read in one place.

Each value comes from Django settings when config/settings.py defines it, else from the
environment variable of the same name, else the default here. (The settings module is the
intended home; the environment fallback lets test and bench worker processes tune them.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.conf import settings


def _raw(name: str) -> object | None:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return value


def _float(name: str, default: float) -> float:
    value = _raw(name)
    return default if value in (None, "") else float(value)  # type: ignore[arg-type]


def _int(name: str, default: int) -> int:
    value = _raw(name)
    return default if value in (None, "") else int(value)  # type: ignore[call-overload]


def _bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value in (None, ""):
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class PipelineConfig:
    batch_size: int
    tx_events: int
    run_budget_seconds: float
    handler_retry_base: float
    handler_retry_cap: float
    stuck_after_attempts: int
    dispatch_key_ttl: int
    publish_timeout: float
    webhook_timeout: float
    webhook_retry_base: float
    webhook_retry_cap: float
    webhook_max_attempts: int
    webhook_failing_after: int
    webhook_allow_private: bool
    webhook_signing_key: str
    error_rate_threshold: float
    error_rate_min_requests: int
    error_rate_window_seconds: int
    token_expiry_warning_days: int
    tenant_cache_seconds: float


def pipeline_config() -> PipelineConfig:
    """The current values (cheap; read on every use so tests can override settings)."""
    return PipelineConfig(
        batch_size=_int("ROLLCALL_DISPATCH_BATCH", 50),
        # Events per transaction. Larger means fewer commits, but a handler that appends events
        # (role.changed) holds the tenant's seq counter lock, and so its SCIM writes, until commit.
        tx_events=max(1, _int("ROLLCALL_DISPATCH_TX_EVENTS", 10)),
        # A busy tenant's task yields after this long (its continuation queues behind other tenants).
        run_budget_seconds=_float("ROLLCALL_DISPATCH_BUDGET_SECONDS", 2.0),
        handler_retry_base=_float("ROLLCALL_HANDLER_RETRY_BASE", 1.0),
        handler_retry_cap=_float("ROLLCALL_HANDLER_RETRY_CAP", 300.0),
        stuck_after_attempts=_int("ROLLCALL_HANDLER_STUCK_AFTER", 5),
        dispatch_key_ttl=_int("ROLLCALL_DISPATCH_KEY_TTL", 60),
        publish_timeout=_float("ROLLCALL_PUBLISH_TIMEOUT", 0.5),
        webhook_timeout=_float("ROLLCALL_WEBHOOK_TIMEOUT", 5.0),
        webhook_retry_base=_float("ROLLCALL_WEBHOOK_RETRY_BASE", 10.0),
        webhook_retry_cap=_float("ROLLCALL_WEBHOOK_RETRY_CAP", 3600.0),
        webhook_max_attempts=_int("ROLLCALL_WEBHOOK_MAX_ATTEMPTS", 12),
        webhook_failing_after=_int("ROLLCALL_WEBHOOK_FAILING_AFTER", 5),
        webhook_allow_private=_bool("ROLLCALL_WEBHOOK_ALLOW_PRIVATE", bool(settings.DEBUG)),
        webhook_signing_key=str(_raw("ROLLCALL_WEBHOOK_KEY") or settings.SECRET_KEY),
        error_rate_threshold=_float("ROLLCALL_ERROR_RATE_THRESHOLD", 0.25),
        error_rate_min_requests=_int("ROLLCALL_ERROR_RATE_MIN_REQUESTS", 20),
        error_rate_window_seconds=_int("ROLLCALL_ERROR_RATE_WINDOW_SECONDS", 300),
        token_expiry_warning_days=_int("ROLLCALL_TOKEN_EXPIRY_WARNING_DAYS", 7),
        tenant_cache_seconds=_float("ROLLCALL_TENANT_CACHE_SECONDS", 5.0),
    )
