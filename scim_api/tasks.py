"""Celery tasks of the SCIM edge (beat jobs over its request log)."""

from __future__ import annotations

from celery import shared_task

from provisioning.sweeper import for_each_tenant
from scim_api.error_rates import check_error_rate


@shared_task(name="scim.check_error_rates", ignore_result=True)
def check_error_rates() -> int:
    """Raise error_rate_spike for every tenant whose recent SCIM requests mostly failed."""
    raised = for_each_tenant(check_error_rate)
    return sum(1 for n in raised.values() if n is not None)
