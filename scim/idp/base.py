"""IdP profile data: what an IdP sends, how to set it up, how to recognise it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scim.quirks import QuirkLog


@dataclass(frozen=True)
class SetupField:
    label: str
    value: str


@dataclass(frozen=True)
class SetupStep:
    title: str
    body: str
    fields: tuple[SetupField, ...] = ()


@dataclass(frozen=True)
class AttributeMapping:
    scim_path: str
    app_field: str
    required: bool = False


@dataclass(frozen=True)
class TrafficSample:
    method: str
    path: str
    query: str
    user_agent: str
    body: Any
    quirks: tuple[str, ...] = ()


@dataclass(frozen=True)
class IdpProfile:
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    user_agents: tuple[str, ...] = ()
    expected_quirks: frozenset[str] = field(default_factory=frozenset)
    setup_steps: tuple[SetupStep, ...] = ()
    default_mappings: tuple[AttributeMapping, ...] = ()
    url_suffix: str = ""

    def scim_base_url_for_idp(self, scim_base_url: str) -> str:
        if self.url_suffix and self.url_suffix not in scim_base_url:
            return scim_base_url + self.url_suffix
        return scim_base_url

    def normalise_request(self, method: str, path: str, body: Any, quirks: QuirkLog) -> Any:
        return body

    def detection_score(self, sample: TrafficSample) -> float:
        agent = sample.user_agent.lower()
        if any(ua in agent for ua in self.user_agents):
            return 0.9
        if self.url_suffix and self.url_suffix.strip("?").lower() in sample.query.lower():
            return 0.8
        return 0.0


def standard_steps(idp_name: str, where: str) -> tuple[SetupStep, ...]:
    return (
        SetupStep(f"Open SCIM provisioning in {idp_name}", where),
        SetupStep(
            "Paste the endpoint and token",
            "Use HTTP header / Bearer token authentication.",
            (SetupField("SCIM base URL", "{scim_base_url}"), SetupField("Bearer token", "{token}")),
        ),
        SetupStep("Test the connection", "Run the IdP's connection test; Rollcall shows the request as it arrives."),
    )
