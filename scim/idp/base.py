"""IdP profile data: what an IdP sends, how it behaves, how to set it up, how to recognise it.

A profile is data. Leniency does not depend on it: the tolerant reader in `scim.patch` and
`scim.resources` accepts every IdP's dialect on every connection, so an admin who picked the
wrong IdP still provisions correctly. The profile drives the wizard copy, the default attribute
mapping, the docs, and detection ("this traffic looks like Entra ID").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs

from scim.quirks import Quirk, QuirkLog
from scim.schema import ENTERPRISE_USER_URN

RequestNormaliser = Callable[[str, str, Any, QuirkLog], Any]


@dataclass(frozen=True)
class SetupField:
    """A value the admin pastes into the IdP, under the label the IdP's UI uses."""

    label: str
    value: str


@dataclass(frozen=True)
class SetupStep:
    title: str
    body: str
    fields: tuple[SetupField, ...] = ()


@dataclass(frozen=True)
class ConnectionProbe:
    """The shape of an IdP's connection test, so the wizard can say "Okta's test succeeded".

    `resource` is the path after the connection's base URL ("Users", "ServiceProviderConfig");
    `query` lists parameters that must be present, with the value they must have (None: any);
    `filter_pattern`, when set, must match the `filter` parameter.
    """

    method: str
    resource: str
    query: tuple[tuple[str, str | None], ...] = ()
    filter_pattern: str = ""

    def matches(self, method: str, resource_path: str, query: str) -> bool:
        if method.upper() != self.method or resource_path.strip("/").lower() != self.resource.lower():
            return False
        params = {k.lower(): v for k, v in parse_qs(query, keep_blank_values=True).items()}
        for name, wanted in self.query:
            values = params.get(name.lower())
            if values is None or (wanted is not None and wanted not in values):
                return False
        if self.filter_pattern:
            filters = params.get("filter") or []
            if not any(re.fullmatch(self.filter_pattern, f.strip(), re.IGNORECASE) for f in filters):
                return False
        return True


@dataclass(frozen=True)
class AttributeMapping:
    """The SCIM path an IdP fills an app field from, where it differs from Rollcall's common mapping."""

    scim_path: str
    app_field: str


@dataclass(frozen=True)
class TrafficSample:
    """One request as detection sees it; `quirks` are the `Quirk` names recorded while handling it."""

    method: str
    path: str
    query: str
    user_agent: str
    body: Any
    quirks: tuple[str, ...] = ()


class Deprovision(StrEnum):
    """How an IdP takes access away."""

    PATCH_ACTIVE_FALSE = "PATCH active=false"
    PUT_ACTIVE_FALSE = "PUT with active=false"
    DELETE = "DELETE"


@dataclass(frozen=True)
class Paging:
    pages: bool  # whether the IdP sends startIndex/count at all
    page_size: int | None = None  # None: the IdP publishes no page size


@dataclass(frozen=True)
class Reactions:
    """What the IdP does with our answers; prose for the docs and the support console."""

    conflict_on_create: str  # 409 uniqueness on POST /Users
    not_found: str  # 404 for an id it stored (e.g. after a delete)
    throttled: str  # 429 with Retry-After


@dataclass(frozen=True)
class Behaviour:
    """How an IdP drives a SCIM server, from docs/research/idp-quirks.md.

    `inferred` names the fields that come from SP guides, fixtures or reasoning rather than the
    vendor's own documentation or observed traffic; treat them as "verify with a live tenant".
    """

    user_filters: tuple[str, ...]
    group_filters: tuple[str, ...]
    connection_test: str
    user_updates: tuple[str, ...]  # HTTP methods used to change a user's attributes
    group_updates: tuple[str, ...]  # HTTP methods used to change membership
    paging: Paging
    member_batch_size: int | None  # member values per group PATCH; None: no documented limit
    deprovision: tuple[Deprovision, ...]  # default first; more than one means admin-configurable
    hard_deletes: bool  # whether DELETE /Users/{id} is ever sent
    reactions: Reactions
    notes: tuple[str, ...] = ()
    inferred: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        known = {f.name for f in fields(self)} - {"inferred", "notes"}
        unknown = set(self.inferred) - known
        if unknown:
            raise ValueError(f"inferred names unknown Behaviour fields: {sorted(unknown)}")
        if not self.deprovision:
            raise ValueError("every IdP deprovisions somehow: list at least one Deprovision")


@dataclass(frozen=True)
class Evidence:
    """One reason to believe traffic comes from an IdP, with how much it counts (0..1)."""

    text: str
    weight: float


# Weights of profile-local evidence; quirk evidence is weighed in scim.idp.detection.
USER_AGENT_WEIGHT = 0.9
URL_FLAG_WEIGHT = 0.8
SCHEMA_URN_WEIGHT = 0.6


@dataclass(frozen=True, kw_only=True)
class IdpProfile:
    key: str
    name: str
    behaviour: Behaviour
    aliases: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()  # lower-case substrings of the User-Agent header
    url_flags: tuple[str, ...] = ()  # query parameters only this IdP appends
    schema_urns: tuple[str, ...] = ()  # non-RFC schema URNs only this IdP sends
    expected_quirks: frozenset[Quirk] = field(default_factory=frozenset)
    setup_steps: tuple[SetupStep, ...] = ()
    mapping_overrides: tuple[AttributeMapping, ...] = ()
    url_suffix: str = ""
    normaliser: RequestNormaliser | None = None
    # Setup wizard copy: one line on the IdP tile, the one thing admins get wrong, what to try
    # when nothing arrives, and the shapes of the IdP's connection test.
    tagline: str = ""
    tile_badge: str = ""  # a caveat worth showing on the tile itself (e.g. Google: catalog apps only)
    watch_out: str = ""
    quiet_tips: tuple[str, ...] = ()
    probes: tuple[ConnectionProbe, ...] = ()
    # Why this IdP may not have sent a deprovisioning (the console's "IdP never sent it" verdict).
    deprovision_hints: tuple[str, ...] = ()
    # Minutes between the IdP's sync cycles; None for IdPs that push each change as it happens.
    sync_cycle_minutes: int | None = None

    def __post_init__(self) -> None:
        stray = [q for q in self.expected_quirks if not isinstance(q, Quirk)]
        if stray:
            raise TypeError(f"{self.key}: expected_quirks must be Quirk members, got {stray!r}")

    @property
    def cadence(self) -> str:
        """The expected cadence in words, for the connection health panel."""
        if self.sync_cycle_minutes:
            return f"{self.name} runs a provisioning cycle about every {self.sync_cycle_minutes} minutes."
        return f"{self.name} sends changes as they happen, so quiet hours are normal when nothing changes."

    def scim_base_url_for_idp(self, scim_base_url: str) -> str:
        """The SCIM base URL as this IdP should be given it (Entra: with its RFC-PATCH flag)."""
        if self.url_suffix and self.url_suffix not in scim_base_url:
            return scim_base_url + self.url_suffix
        return scim_base_url

    def is_connection_test(self, method: str, resource_path: str, query: str) -> bool:
        """Whether a request looks like this IdP's connection test (see `probes`)."""
        return any(p.matches(method, resource_path, query) for p in self.probes)

    def credential_labels(self) -> tuple[str, str]:
        """The IdP's own labels for the SCIM URL field and the token field (joined when several)."""
        url_labels: list[str] = []
        token_labels: list[str] = []
        for step in self.setup_steps:
            for f in step.fields:
                if f.value == "{scim_base_url}" and f.label not in url_labels:
                    url_labels.append(f.label)
                elif f.value == "{token}" and f.label not in token_labels:
                    token_labels.append(f.label)
        return " or ".join(url_labels) or "SCIM base URL", " or ".join(token_labels) or "Bearer token"

    def normalise_request(self, method: str, path: str, body: Any, quirks: QuirkLog) -> Any:
        """IdP-specific body rewrite before parsing; most IdPs need none (the reader is generic)."""
        if self.normaliser is None:
            return body
        return self.normaliser(method, path, body, quirks)

    def evidence(self, sample: TrafficSample) -> list[Evidence]:
        """What in this request points at this IdP by itself: user agent, URL flags, schema URNs."""
        found: list[Evidence] = []
        agent = sample.user_agent.lower()
        if agent and any(ua in agent for ua in self.user_agents):
            found.append(Evidence(f"User-Agent '{sample.user_agent}'", USER_AGENT_WEIGHT))
        if self.url_flags:
            params = {p.split("=", 1)[0].lower() for p in sample.query.split("&") if p}
            for flag in self.url_flags:
                if flag.lower() in params:
                    found.append(Evidence(f"URL flag '{flag}' in the query string", URL_FLAG_WEIGHT))
        if self.schema_urns:
            declared = _declared_urns(sample.body)
            for urn in self.schema_urns:
                if urn.lower() in declared:
                    found.append(Evidence(f"schema URN '{urn}'", SCHEMA_URN_WEIGHT))
        return found


def _declared_urns(body: Any) -> set[str]:
    """Lower-cased URNs in a body's `schemas` list and its top-level URN keys (cheap: no deep walk)."""
    if not isinstance(body, dict):
        return set()
    urns = {k.lower() for k in body if isinstance(k, str) and ":" in k}
    schemas = body.get("schemas")
    if isinstance(schemas, list):
        urns.update(s.lower() for s in schemas if isinstance(s, str))
    return urns


def credentials_step(
    title: str, body: str, url_label: str, token_label: str, *extra: SetupField
) -> SetupStep:
    """The step where the admin pastes Rollcall's SCIM URL and token, under the IdP's own labels."""
    return SetupStep(
        title,
        body,
        (SetupField(url_label, "{scim_base_url}"), *extra, SetupField(token_label, "{token}")),
    )


ENTERPRISE = ENTERPRISE_USER_URN


def mappings(*pairs: tuple[str, str]) -> tuple[AttributeMapping, ...]:
    """(SCIM path, app field) pairs as AttributeMappings."""
    return tuple(AttributeMapping(path, app_field) for path, app_field in pairs)
