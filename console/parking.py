"""Adapter to the pipeline's poison-event parking (provisioning.parking, being added in main).

`Event` gains `parked_at`, `park_reason` and `skipped_at`, and provisioning.parking offers
`parked_events()`, `retry_parked_event(*, seq, actor, reason)` and `skip_parked_event(*, seq,
actor, reason)`. Until they land, nothing is parked: the count is 0 and retry/skip say so. This is
the only module of the console that knows whether they exist.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from outbox.models import Event


class ParkingUnavailable(Exception):
    """This build's pipeline does not park events yet."""


def _parking() -> ModuleType | None:
    try:
        return importlib.import_module("provisioning.parking")
    except ModuleNotFoundError:
        return None


def parking_available() -> bool:
    return _parking() is not None and any(f.name == "parked_at" for f in Event._meta.get_fields())


def parked_event_count() -> int:
    """Events of the current tenant schema parked after repeated handler failures."""
    if not parking_available():
        return 0
    parked = {"parked_at__isnull": False, "skipped_at__isnull": True}  # fields the lead's migration adds
    return Event.objects.filter(handled_at__isnull=True, **parked).count()


def parked_events() -> list[Any]:
    module = _parking()
    return [] if module is None else list(module.parked_events())


def retry_parked_event(*, seq: int, actor: Any, reason: str) -> Any:
    module = _parking()
    if module is None:
        raise ParkingUnavailable("this pipeline does not park events yet")
    return module.retry_parked_event(seq=seq, actor=actor, reason=reason)


def skip_parked_event(*, seq: int, actor: Any, reason: str) -> Any:
    module = _parking()
    if module is None:
        raise ParkingUnavailable("this pipeline does not park events yet")
    return module.skip_parked_event(seq=seq, actor=actor, reason=reason)
