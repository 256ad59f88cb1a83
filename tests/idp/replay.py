"""Replay recorded IdP request sequences through HTTP and check every response.

A trace is data: a list of `Step`s (method, path, body, the IdP's headers, expected status,
expected body fields, quirks the request log must record). `replay` sends them in order through
`ScimClient`, substitutes `{name}` placeholders with ids captured from earlier responses, and
fails with the IdP, step name, request and response in the message.

Steps can be conditional on whether a variable is already bound, which is how an IdP's
"look up by filter first, then link or create" logic is written down: replaying the same trace a
second time takes the other branch, exactly as the IdP's next cycle would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scim.quirks import Quirk
from scim_api.models import RequestLog
from tests.support.scim_client import Response, ScimClient

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_JSON = "application/scim+json"
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class Absent:
    """Expected value meaning: the key is not in the response body."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


@dataclass(frozen=True)
class OneOf:
    """Expected value meaning: any of these (each compared type-exactly)."""

    options: tuple[Any, ...]

    def __repr__(self) -> str:
        return f"one of {self.options!r}"


def one_of(*options: Any) -> OneOf:
    return OneOf(options)


@dataclass(frozen=True)
class Step:
    """One recorded request and what the IdP needs back."""

    name: str
    method: str
    path: str  # relative to the connection's base, e.g. "/Users?filter=..."; may hold {placeholders}
    body: Any = None
    status: int | tuple[int, ...] = 200  # acceptable statuses; the first one is what Rollcall must send
    expect: Mapping[str, Any] = field(default_factory=dict)  # dotted path -> value, ABSENT or OneOf
    capture: Mapping[str, str] = field(default_factory=dict)  # variable -> dotted path in the response
    capture_optional: bool = False  # a lookup: bind only when the response has the value
    if_bound: str | None = None  # run only when this variable is bound (the IdP linked an object)
    if_unbound: str | None = None  # run only when it is not (the IdP must create the object)
    quirks: tuple[Quirk, ...] = ()  # must be recorded in the request log for this request
    no_quirks: bool = False  # a strict RFC request: the log must record none
    retry_status: int | None = None  # status when the IdP re-sends this request after a timeout
    inferred: bool = False  # shape not seen in a real trace (idp-quirks.md marks it [inferred])


@dataclass(frozen=True)
class Trace:
    idp: str  # the connection's IdP profile key
    user_agent: str
    steps: tuple[Step, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = SCIM_JSON

    def __add__(self, other: Trace) -> Trace:
        return Trace(self.idp, self.user_agent, self.steps + other.steps, self.headers, self.content_type)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def only(self, *names: str) -> Trace:
        return Trace(self.idp, self.user_agent, tuple(self.step(n) for n in names), self.headers, self.content_type)


Hook = Callable[["Replay"], None]


@dataclass
class Replay:
    """The outcome of one replay: bound variables, each step's response, skipped steps."""

    trace: Trace
    client: ScimClient
    variables: dict[str, str]
    responses: dict[str, Response] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def __getitem__(self, step_name: str) -> Response:
        return self.responses[step_name]


class ReplayFailure(AssertionError):
    pass


def client_for(tenant: Any, trace: Trace) -> ScimClient:
    """A SCIM client over a new connection with the trace's IdP profile and User-Agent."""
    client = ScimClient.for_tenant(tenant, idp=trace.idp)
    client.user_agent = trace.user_agent
    return client


def replay(
    client: ScimClient,
    trace: Trace,
    *,
    variables: Mapping[str, str] | None = None,
    hooks: Mapping[str, Hook] | None = None,
    retry: bool = False,
) -> Replay:
    """Send the trace's steps in order and check each response; hooks run after the named step.

    With `retry`, every step that declares `retry_status` is sent a second time right away (an
    IdP retrying after a timeout) and the second answer must have that status.
    """
    hooks = dict(hooks or {})
    unknown = set(hooks) - {s.name for s in trace.steps}
    if unknown:
        raise ValueError(f"hooks for steps that are not in the {trace.idp} trace: {sorted(unknown)}")
    run = Replay(trace, client, dict(variables or {}))
    for step in trace.steps:
        if (step.if_bound and step.if_bound not in run.variables) or (
            step.if_unbound and step.if_unbound in run.variables
        ):
            run.skipped.append(step.name)
            continue
        response = _send(run, step)
        _check(run, step, response, step.status)
        _capture(run, step, response)
        run.responses[step.name] = response
        run.sent.append(step.name)
        if retry and step.retry_status is not None:
            again = _send(run, step)
            _check(run, step, again, step.retry_status, retried=True)
            run.responses[f"{step.name} (retried)"] = again
        if step.name in hooks:
            hooks[step.name](run)
    return run


def substitute(value: Any, variables: Mapping[str, str], where: str = "") -> Any:
    """Replace `{name}` placeholders in every string of a JSON value."""
    if isinstance(value, str):

        def bound(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise ReplayFailure(f"{where}: placeholder {{{name}}} is not bound (bound: {sorted(variables)})")
            return variables[name]

        return _PLACEHOLDER.sub(bound, value)
    if isinstance(value, list):
        return [substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables, where): substitute(v, variables, where) for k, v in value.items()}
    return value


def _send(run: Replay, step: Step) -> Response:
    where = f"{run.trace.idp}/{step.name}"
    path = substitute(step.path, run.variables, where)
    body = substitute(step.body, run.variables, where)
    return run.client.request(
        step.method, path, body, headers=dict(run.trace.headers), content_type=run.trace.content_type
    )


def _describe(run: Replay, step: Step, response: Response) -> str:
    path = substitute(step.path, run.variables, step.name)
    inferred = " [inferred shape]" if step.inferred else ""
    body = json.dumps(response.body, indent=1)[:1500] if response.body is not None else "(no body)"
    return f"{run.trace.idp} step {step.name!r}{inferred}: {step.method} {path} -> {response.status}\n{body}"


def _check(run: Replay, step: Step, response: Response, status: int | tuple[int, ...], *, retried: bool = False) -> None:
    label = "retried " if retried else ""
    allowed = status if isinstance(status, tuple) else (status,)
    if response.status not in allowed:
        raise ReplayFailure(f"{label}status {response.status} not in {allowed}; " + _describe(run, step, response))
    problems = rfc_problems(response)
    if not retried and response.status == allowed[0]:
        for path, expected in step.expect.items():
            expected = substitute(expected, run.variables, step.name)
            problem = _expectation_problem(response.body, substitute(path, run.variables, step.name), expected)
            if problem:
                problems.append(problem)
    if problems:
        raise ReplayFailure(f"{label}response problems: {'; '.join(problems)}\n" + _describe(run, step, response))
    _check_log(run, step, response)


def _check_log(run: Replay, step: Step, response: Response) -> None:
    if not step.quirks and not step.no_quirks:
        return
    entry = RequestLog.objects.filter(connection_id=run.client.connection_id).order_by("-id").first()
    if entry is None or entry.status != response.status or entry.method != step.method:
        raise ReplayFailure("no request log entry for this request; " + _describe(run, step, response))
    missing = [q.value for q in step.quirks if q.value not in entry.quirks]
    if missing:
        raise ReplayFailure(
            f"request log quirks {entry.quirks} lack {missing}; " + _describe(run, step, response)
        )
    if step.no_quirks and entry.quirks:
        raise ReplayFailure(f"a strict RFC request was logged with quirks {entry.quirks}; " + _describe(run, step, response))
    if entry.user_agent != run.trace.user_agent:
        raise ReplayFailure(f"request log user agent {entry.user_agent!r} is not the IdP's {run.trace.user_agent!r}")


def _capture(run: Replay, step: Step, response: Response) -> None:
    for name, path in step.capture.items():
        value = dig(response.body, path)
        if value is ABSENT or value is None:
            if step.capture_optional:
                continue
            raise ReplayFailure(f"nothing at {path!r} to capture as {name}; " + _describe(run, step, response))
        run.variables[name] = str(value)


# -- reading and comparing response bodies ---------------------------------------------------


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path ("Resources.0.name.givenName"); keys may contain dots (URNs).

    A list segment is an index or `key=value` (the first element whose key has that value).
    """
    current = body
    rest = path
    while rest:
        if isinstance(current, list):
            head, _, tail = rest.partition(".")
            if "=" in head:  # "Resources.displayName=Engineering.id": the first element with that value
                key, _, wanted = head.partition("=")
                found = [e for e in current if isinstance(e, dict) and str(e.get(key)) == wanted]
                if not found:
                    return ABSENT
                current, rest = found[0], tail
                continue
            if not head.isdigit() or int(head) >= len(current):
                return ABSENT
            current, rest = current[int(head)], tail
            continue
        if not isinstance(current, dict):
            return ABSENT
        # The longest key the path starts with, so "urn:...:2.0:User.employeeNumber" works.
        keys = [k for k in current if rest == k or rest.startswith(k + ".")]
        if not keys:
            return ABSENT
        key = max(keys, key=len)
        current, rest = current[key], rest[len(key) + 1 :]
    return current


def same_json(actual: Any, expected: Any) -> bool:
    """Equality that tells JSON true from 1 and "1" from 1."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    if isinstance(expected, dict):
        return isinstance(actual, dict) and actual.keys() == expected.keys() and all(
            same_json(actual[k], expected[k]) for k in expected
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            same_json(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return type(actual) is type(expected) and actual == expected


def _expectation_problem(body: Any, path: str, expected: Any) -> str | None:
    actual = dig(body, path)
    if isinstance(expected, Absent):
        return None if actual is ABSENT else f"{path} should be absent, is {actual!r}"
    if isinstance(expected, OneOf):
        ok = any(same_json(actual, option) for option in expected.options)
    else:
        ok = same_json(actual, expected)
    return None if ok else f"{path}: expected {expected!r}, got {actual!r}"


def rfc_problems(response: Response) -> list[str]:
    """What any SCIM response must look like, whatever the IdP (RFC 7643/7644 output rules)."""
    problems: list[str] = []
    body = response.body
    if response.status == 204 or body is None:
        if body is not None:
            problems.append("204 with a body")
        return problems
    if not response.headers.get("Content-Type", "").startswith(SCIM_JSON):
        problems.append(f"Content-Type is {response.headers.get('Content-Type')!r}")
    schemas = body.get("schemas") if isinstance(body, dict) else None
    if response.status >= 400:
        if schemas != [ERROR_SCHEMA]:
            problems.append(f"error schemas {schemas!r}")
        if body.get("status") != str(response.status):
            problems.append(f"error status {body.get('status')!r} is not the string {str(response.status)!r}")
        if response.status == 409 and body.get("scimType") != "uniqueness":
            problems.append(f"409 without scimType uniqueness: {body.get('scimType')!r}")
        return problems
    if schemas == [LIST_SCHEMA]:
        for key in ("totalResults", "itemsPerPage", "startIndex"):
            if type(body.get(key)) is not int:
                problems.append(f"{key} is {body.get(key)!r}, not an integer")
        resources = body.get("Resources", [])
        if len(resources) != body.get("itemsPerPage"):
            problems.append("itemsPerPage does not count Resources")
        for resource in resources:
            problems += _resource_problems(resource)
    elif isinstance(body, dict) and body.get("meta", {}).get("resourceType") in ("User", "Group"):
        problems += _resource_problems(body)
    return problems


def _resource_problems(resource: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if not isinstance(resource.get("id"), str) or not resource["id"]:
        problems.append(f"resource id {resource.get('id')!r}")
    if "active" in resource and not isinstance(resource["active"], bool):
        problems.append(f"active is {resource['active']!r}, not a JSON boolean")
    for member in resource.get("members") or []:
        if set(member) - {"value", "$ref", "type", "display"} or member.get("type") not in ("User", "Group"):
            problems.append(f"member {member!r} is not an RFC member object")
    for email in resource.get("emails") or []:
        if "primary" in email and not isinstance(email["primary"], bool):
            problems.append(f"emails.primary is {email['primary']!r}")
    if "password" in resource:
        problems.append("password returned")
    return problems

