"""A user's lifecycle timeline for the user page: every request and event about them, with times.

Adapter over the console's user-timeline service (provisioning.timeline); None until it is merged.
"""

from __future__ import annotations

from typing import Any

from directory.models import DirectoryUser


def user_timeline(user: DirectoryUser) -> list[Any] | None:
    return None
