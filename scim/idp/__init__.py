"""IdP profiles, one per IdP; `get_profile` accepts keys and common aliases."""

from __future__ import annotations

from scim.idp.base import IdpProfile, standard_steps

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

PROFILES: dict[str, IdpProfile] = {
    p.key: p
    for p in (
        IdpProfile("okta", "Okta", (), ("okta scim",), frozenset({"pathless_readonly_id", "member_missing_type"}),
                   standard_steps("Okta", "Applications > your app > Provisioning > Integration: enable API integration.")),
        IdpProfile("entra", "Microsoft Entra ID", ("azure", "azuread", "azure_ad", "entra_id", "entraid", "microsoft"),
                   ("azure ad scim", "microsoft.identity"),
                   frozenset({"op_capitalised", "string_boolean", "member_remove_value_list", "member_null_ref"}),
                   standard_steps("Entra ID", "Enterprise applications > your app > Provisioning > Automatic (Tenant URL, Secret Token)."),
                   url_suffix="?aadOptscim062020"),
        IdpProfile("google", "Google Workspace", ("google_workspace", "gsuite"), ("google",), frozenset(),
                   standard_steps("Google Workspace", "Admin console > Apps > Web and mobile apps > your app > Auto-provisioning.")),
        IdpProfile("onelogin", "OneLogin", (), ("onelogin",),
                   frozenset({"nonstandard_schema_urn", "empty_string_clears", "string_boolean", "manager_id_key"}),
                   standard_steps("OneLogin", "Applications > SCIM Provisioner with SAML (SCIM v2 Enterprise) > Configuration.")),
        IdpProfile("jumpcloud", "JumpCloud", (), ("jumpcloud",), frozenset({"member_remove_value_list"}),
                   standard_steps("JumpCloud", "SSO Applications > your app > Identity Management (custom SCIM).")),
        IdpProfile("ping", "Ping Identity", ("pingone", "pingfederate", "ping_identity"), ("ping",), frozenset(),
                   standard_steps("PingOne / PingFederate", "Provisioning > SCIM connector; unique user identifier userName.")),
        IdpProfile("rippling", "Rippling", (), ("rippling",), frozenset(),
                   standard_steps("Rippling", "Custom App > User Management via SCIM 2.0; tick groups, pagination, PATCH groups.")),
        IdpProfile("generic", "Generic SCIM 2.0", ("scim", "other", "custom"), (), frozenset(),
                   standard_steps("your IdP", "Any RFC 7643/7644 client.")),
    )
}


def get_profile(key_or_alias: str) -> IdpProfile:
    lowered = (key_or_alias or "").strip().lower()
    for profile in PROFILES.values():
        if lowered == profile.key or lowered in profile.aliases:
            return profile
    raise KeyError(f"unknown IdP {key_or_alias!r}: choose one of {', '.join(PROFILES)}")
