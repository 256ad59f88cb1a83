"""Who the tests act as when a service asks for an actor (the audit log records it)."""

from __future__ import annotations

from tenants.audit import AuditActor

TEST_ACTOR = AuditActor(kind="system", id="tests", label="test suite")
OPERATOR = AuditActor(kind="operator", id="17", label="ops@rollcall.test", role="admin", source_ip="127.0.0.1")
SUPPORT = AuditActor(kind="operator", id="18", label="support@rollcall.test", role="support", source_ip="127.0.0.1")
