"""Suggest the IdP behind a connection from its traffic: user agent, URL flags and request shapes.

Each profile collects evidence, and each piece has a weight in 0..1. A profile's confidence is
1 - prod(1 - weight), so independent hints add up without ever reaching certainty.

- A User-Agent match is the strongest evidence. After it come URL flags and non-RFC schema URNs
  that only one IdP sends (`IdpProfile.evidence`).
- Quirks (`scim.quirks.Quirk` names recorded while handling the request) count for every profile
  that expects them. A quirk expected by exactly one IdP weighs `QUIRK_WEIGHT`; a quirk shared by
  n IdPs weighs `QUIRK_WEIGHT / n`, so "booleans as strings" alone cannot tell Entra from OneLogin.
- A tie between the best two profiles is no detection.

The strict "generic" profile expects nothing, so it never wins: detection exists to suggest a
better profile for generic connections.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from scim.idp import PROFILES
from scim.idp.base import IdpProfile, TrafficSample
from scim.quirks import Quirk

QUIRK_WEIGHT = 0.4

# How the wizard words each quirk as evidence ("sent capitalised PATCH ops (Microsoft Entra ID)").
QUIRK_PHRASES: dict[Quirk, str] = {
    Quirk.OP_CAPITALISED: "sent capitalised PATCH ops",
    Quirk.STRING_BOOLEAN: 'sent booleans as strings ("True"/"False")',
    Quirk.PATHLESS_DOTTED_KEY: "sent a path-less PATCH with dotted keys such as name.givenName",
    Quirk.PATHLESS_URN_KEY: "sent a path-less PATCH with full extension-URN keys",
    Quirk.PATHLESS_READONLY_ID: "sent a path-less group rename that repeats the id",
    Quirk.MEMBER_REMOVE_VALUE_LIST: "removed group members with a value list on path members",
    Quirk.MEMBER_MISSING_TYPE: "sent group members without type",
    Quirk.MEMBER_NULL_REF: 'sent group members with "$ref": null',
    Quirk.EMPTY_STRING_CLEARS: "sent empty strings for blank attributes",
    Quirk.NONSTANDARD_SCHEMA_URN: "used a non-RFC schema URN",
    Quirk.SINGLE_OBJECT_FOR_MULTI_VALUED: "sent a single object for a multi-valued attribute",
    Quirk.LIST_FOR_SINGLE_VALUED: "sent a one-element list for a single-valued attribute (manager)",
    Quirk.BARE_ID_FOR_REFERENCE: "sent the manager as a bare id instead of {\"value\": id}",
    Quirk.EXTENSION_SCHEMAS_KEY: "sent a schemas list inside the enterprise extension object",
    Quirk.VALUE_FILTER_ON_SINGLE_VALUED: 'used a value filter on a single-valued attribute (manager[value eq "…"])',
    Quirk.FILTERED_ADD_CREATES_VALUE: 'wrote emails[type eq "…"].value where no such email existed yet',
    Quirk.FILTER_VALUE_PATH_SUB_ATTR: 'filtered on emails[type eq "work"].value',
    Quirk.MANAGER_ID_KEY: "sent manager.managerId instead of manager.value",
    Quirk.TRAILING_QUERY_SEPARATOR: "left a dangling ? or & in the URL",
    Quirk.UNKNOWN_QUERY_PARAMETER: "sent an unknown query parameter",
    Quirk.PRIMARY_CONFLICT: "marked more than one value primary",
    Quirk.MEMBERS_IN_USER_BODY_IGNORED: "sent groups: [] in a user body",
    Quirk.NULL_ATTRIBUTE: "sent explicit nulls for unset attributes",
}

# Quirks that say nothing about the sender by name alone. Which unknown query parameter was
# sent is what identifies Entra, and `IdpProfile.url_flags` already looks at that.
NOT_EVIDENCE: frozenset[Quirk] = frozenset({Quirk.UNKNOWN_QUERY_PARAMETER})


@dataclass(frozen=True)
class Detection:
    key: str
    confidence: float
    evidence: tuple[str, ...]  # strongest first, worded for the setup wizard


def detect_idp(samples: Sequence[TrafficSample]) -> Detection | None:
    """The IdP these requests most likely come from, with human-readable evidence; None if unclear."""
    found: dict[str, dict[str, float]] = {key: {} for key in PROFILES}
    for sample in samples:
        for profile in PROFILES.values():
            for item in profile.evidence(sample):
                _note(found[profile.key], item.text, item.weight)
        for name in sample.quirks:
            quirk = _quirk(name)
            owners = _claimants().get(quirk, ()) if quirk is not None else ()
            if not owners:
                continue
            assert quirk is not None
            text = f"{QUIRK_PHRASES[quirk]} ({' or '.join(p.name for p in owners)})"
            for profile in owners:
                _note(found[profile.key], text, QUIRK_WEIGHT / len(owners))
    ranked = sorted(
        (_detection(key, items) for key, items in found.items() if items),
        key=lambda d: d.confidence,
        reverse=True,
    )
    if not ranked or (len(ranked) > 1 and math.isclose(ranked[0].confidence, ranked[1].confidence)):
        return None
    return ranked[0]


def _note(items: dict[str, float], text: str, weight: float) -> None:
    # The same fact seen on many requests is still one piece of evidence.
    items[text] = max(weight, items.get(text, 0.0))


def _detection(key: str, items: dict[str, float]) -> Detection:
    confidence = 1.0 - math.prod(1.0 - w for w in items.values())
    ordered = sorted(items, key=lambda text: items[text], reverse=True)
    return Detection(key, round(confidence, 3), tuple(ordered))


def _quirk(name: str) -> Quirk | None:
    try:
        return Quirk(name)
    except ValueError:
        return None  # a name from an older or newer release: not evidence


@cache
def _claimants() -> dict[Quirk, tuple[IdpProfile, ...]]:
    """For each quirk, the profiles that expect it (PROFILES is fixed at import time)."""
    owners: dict[Quirk, tuple[IdpProfile, ...]] = {}
    for quirk in Quirk:
        if quirk in NOT_EVIDENCE:
            continue
        claimed = tuple(p for p in PROFILES.values() if quirk in p.expected_quirks)
        if claimed:
            owners[quirk] = claimed
    return owners
