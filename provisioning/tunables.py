"""A typed view of the pipeline's ROLLCALL_* settings (config/settings.py reads the environment)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class PipelineConfig:
    batch_size: int
    tx_events: int
    run_budget_seconds: float
    handler_retry_base: float
    handler_retry_cap: float
    stuck_after_attempts: int
    park_after_attempts: int
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


def pipeline_config() -> PipelineConfig:
    """The current values (cheap; read on every use so tests can override settings)."""
    return PipelineConfig(
        batch_size=int(settings.ROLLCALL_DISPATCH_BATCH),
        tx_events=max(1, int(settings.ROLLCALL_DISPATCH_TX_EVENTS)),
        run_budget_seconds=float(settings.ROLLCALL_DISPATCH_BUDGET_SECONDS),
        handler_retry_base=float(settings.ROLLCALL_HANDLER_RETRY_BASE),
        handler_retry_cap=float(settings.ROLLCALL_HANDLER_RETRY_CAP),
        stuck_after_attempts=int(settings.ROLLCALL_HANDLER_STUCK_AFTER),
        park_after_attempts=max(1, int(settings.ROLLCALL_HANDLER_PARK_AFTER)),
        dispatch_key_ttl=int(settings.ROLLCALL_DISPATCH_KEY_TTL),
        publish_timeout=float(settings.ROLLCALL_PUBLISH_TIMEOUT),
        webhook_timeout=float(settings.ROLLCALL_WEBHOOK_TIMEOUT),
        webhook_retry_base=float(settings.ROLLCALL_WEBHOOK_RETRY_BASE),
        webhook_retry_cap=float(settings.ROLLCALL_WEBHOOK_RETRY_CAP),
        webhook_max_attempts=int(settings.ROLLCALL_WEBHOOK_MAX_ATTEMPTS),
        webhook_failing_after=int(settings.ROLLCALL_WEBHOOK_FAILING_AFTER),
        webhook_allow_private=bool(settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE),
        webhook_signing_key=str(settings.ROLLCALL_WEBHOOK_KEY),
        error_rate_threshold=float(settings.ROLLCALL_ERROR_RATE_THRESHOLD),
        error_rate_min_requests=int(settings.ROLLCALL_ERROR_RATE_MIN_REQUESTS),
        error_rate_window_seconds=int(settings.ROLLCALL_ERROR_RATE_WINDOW_SECONDS),
        token_expiry_warning_days=int(settings.ROLLCALL_TOKEN_EXPIRY_WARNING_DAYS),
    )
