"""The one retry-delay formula of the pipeline (handler retries, webhook retries, mail retries)."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: bool = False, rng: random.Random | None = None) -> float:
    """Exponential backoff: base * 2^(attempt-1), capped. With jitter, "equal jitter": half of the delay
    fixed, half random, so many failures at once do not retry in lockstep."""
    delay = min(cap, base * (2 ** max(attempt - 1, 0)))
    if not jitter:
        return float(delay)
    return delay / 2 + (rng or random).uniform(0, delay / 2)
