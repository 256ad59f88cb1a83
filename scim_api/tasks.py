"""Celery tasks of the SCIM edge (beat jobs over its request log)."""

from __future__ import annotations

from celery import shared_task

from provisioning.sweeper import for_each_tenant
from scim_api.error_rates import check_error_rate


@shared_task(name="scim.check_error_rates", ignore_result=True)
def check_error_rates() -> dict[str, int]:
    """Raise error_rate_spike for every tenant whose recent SCIM requests mostly failed.

    "failed_tenants" (tenants the check could not run for) feeds /healthz (see provisioning.tasks)."""
    failed: list[str] = []
    raised = for_each_tenant(check_error_rate, failed)
    return {"raised": sum(1 for n in raised.values() if n is not None), "failed_tenants": len(failed)}
