"""Is the IdP's last request recent enough for how that IdP syncs? (Entra every ~40 min; Okta pushes.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from scim.idp import get_profile

# A cycle-based IdP is late after missing this many cycles (one slow cycle is normal).
LATE_AFTER_CYCLES = 3


class CadenceState(StrEnum):
    NEVER = "never"  # no request yet
    ON_TIME = "on_time"  # within the IdP's cycle
    LATE = "late"  # several cycles missed: provisioning may have stopped
    PUSH = "push"  # the IdP pushes changes as they happen: silence means no changes


@dataclass(frozen=True)
class Cadence:
    state: CadenceState
    cycle_minutes: int | None

    @property
    def text(self) -> str:
        if self.state is CadenceState.NEVER:
            return "no request yet"
        if self.state is CadenceState.PUSH:
            return "pushes changes as they happen"
        if self.state is CadenceState.LATE:
            return f"late: expected about every {self.cycle_minutes} minutes"
        return f"on time (cycle about every {self.cycle_minutes} minutes)"


def cadence_of(idp: str, last_request_at: datetime | None, now: datetime) -> Cadence:
    try:
        cycle = get_profile(idp).sync_cycle_minutes if idp else None
    except KeyError:
        cycle = None
    if last_request_at is None:
        return Cadence(CadenceState.NEVER, cycle)
    if cycle is None:
        return Cadence(CadenceState.PUSH, None)
    late = now - last_request_at > timedelta(minutes=cycle * LATE_AFTER_CYCLES)
    return Cadence(CadenceState.LATE if late else CadenceState.ON_TIME, cycle)
