"""Suggest the IdP behind a connection from its traffic (user agent, URL flags)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scim.idp import PROFILES
from scim.idp.base import TrafficSample


@dataclass(frozen=True)
class Detection:
    key: str
    confidence: float
    evidence: tuple[str, ...]


def detect_idp(samples: Sequence[TrafficSample]) -> Detection | None:
    best: Detection | None = None
    for profile in PROFILES.values():
        scores = [profile.detection_score(s) for s in samples]
        score = max(scores, default=0.0)
        if score > 0 and (best is None or score > best.confidence):
            best = Detection(profile.key, score, (f"{profile.name} traffic shape",))
    return best
