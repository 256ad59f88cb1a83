"""IdP profiles, one module per IdP; `get_profile` accepts keys and common aliases."""

from __future__ import annotations

from scim.idp import entra, generic, google, jumpcloud, okta, onelogin, ping, rippling
from scim.idp.base import IdpProfile

PROFILES: dict[str, IdpProfile] = {
    module.PROFILE.key: module.PROFILE
    for module in (okta, entra, google, onelogin, jumpcloud, ping, rippling, generic)
}


def get_profile(key_or_alias: str) -> IdpProfile:
    """The profile for a key or alias (case-insensitive); KeyError names the valid keys."""
    lowered = (key_or_alias or "").strip().lower()
    for profile in PROFILES.values():
        if lowered == profile.key or lowered in profile.aliases:
            return profile
    raise KeyError(f"unknown IdP {key_or_alias!r}: choose one of {', '.join(PROFILES)}")
