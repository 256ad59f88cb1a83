"""Tenant-schema directory: users, groups, memberships, roles, mappings, app access and its proof.

A user's canonical SCIM document lives in `resource` (JSONB); the columns beside it are either
SCIM attributes the protocol filters and enforces on (userName, externalId, active) or mapped
app fields the SaaS app reads (email, names, title...). Multi-valued SCIM attributes are also
written to `UserValue` rows so filters such as emails[type eq "work"] run as indexed SQL.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class DirectoryUser(models.Model):
    class Kind(models.TextChoices):
        HUMAN = "human"
        AGENT = "agent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_name = models.CharField(max_length=512)
    external_id = models.CharField(max_length=512, null=True, blank=True)
    active = models.BooleanField(default=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HUMAN)
    # Mapped app fields (directory.mapping), what the SaaS app sees.
    email = models.CharField(max_length=512, blank=True)
    given_name = models.CharField(max_length=255, blank=True)
    family_name = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=512, blank=True)
    title = models.CharField(max_length=255, blank=True)
    department = models.CharField(max_length=255, blank=True)
    employee_number = models.CharField(max_length=255, blank=True)
    manager_id = models.UUIDField(null=True, blank=True)
    # Mapped fields without a column of their own (cost center, phone, locale, the tenant's custom fields).
    extra_fields = models.JSONField(default=dict, blank=True)
    # Non-human identities: who owns the agent and when it must be torn down.
    owner_id = models.UUIDField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # SCIM state.
    resource = models.JSONField(default=dict)
    password_hash = models.CharField(max_length=255, blank=True)
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now)
    source_connection_id = models.CharField(max_length=32, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("user_name"), name="dir_user_username_ci_uniq")]
        indexes = [
            models.Index(fields=["external_id"], name="dir_user_external_id"),
            models.Index(fields=["created", "id"], name="dir_user_created_id"),
            models.Index(fields=["last_modified"], name="dir_user_last_modified"),
            models.Index(Lower("email"), name="dir_user_email_ci"),
            models.Index(fields=["expires_at"], name="dir_user_expires", condition=Q(expires_at__isnull=False)),
            # The portal's directory list: keyset pages per kind and per connection, prefix search.
            models.Index(fields=["kind", "created", "id"], name="dir_user_kind_created"),
            models.Index(fields=["source_connection_id", "created", "id"], name="dir_user_conn_created"),
            models.Index(OpClass(Lower("user_name"), name="text_pattern_ops"), name="dir_user_username_prefix"),
            models.Index(OpClass(Lower("email"), name="text_pattern_ops"), name="dir_user_email_prefix"),
            models.Index(OpClass(Lower("display_name"), name="text_pattern_ops"), name="dir_user_display_prefix"),
        ]

    def __str__(self) -> str:
        return self.user_name


class UserValue(models.Model):
    """One value of a multi-valued SCIM attribute (emails, phoneNumbers, ...), for indexed filtering."""

    user = models.ForeignKey(DirectoryUser, on_delete=models.CASCADE, related_name="values")
    attribute = models.CharField(max_length=32)  # lower-case SCIM name, e.g. "emails"
    position = models.PositiveSmallIntegerField(default=0)
    type = models.CharField(max_length=64, blank=True)
    primary = models.BooleanField(default=False)
    value = models.TextField(blank=True)
    display = models.TextField(blank=True)
    extra = models.JSONField(default=dict, blank=True)  # the other sub-attributes (addresses)

    class Meta:
        indexes = [
            models.Index("attribute", Lower("value"), name="dir_uservalue_attr_value_ci"),
            models.Index(fields=["user", "attribute"], name="dir_uservalue_user_attr"),
        ]


class DirectoryGroup(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    display_name = models.CharField(max_length=512)
    external_id = models.CharField(max_length=512, null=True, blank=True)
    resource = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(default=timezone.now)
    last_modified = models.DateTimeField(default=timezone.now)
    source_connection_id = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("display_name"), name="dir_group_name_ci_uniq")]
        indexes = [
            models.Index(fields=["external_id"], name="dir_group_external_id"),
            models.Index(fields=["created", "id"], name="dir_group_created_id"),
            models.Index(fields=["last_modified"], name="dir_group_last_modified"),
            models.Index(OpClass(Lower("display_name"), name="text_pattern_ops"), name="dir_group_name_prefix"),
        ]

    def __str__(self) -> str:
        return self.display_name


class Membership(models.Model):
    """A direct member of a group: a user or a nested group."""

    group = models.ForeignKey(DirectoryGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(DirectoryUser, on_delete=models.CASCADE, null=True, related_name="memberships")
    child_group = models.ForeignKey(
        DirectoryGroup, on_delete=models.CASCADE, null=True, related_name="parent_memberships"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"], name="dir_membership_user_uniq", condition=Q(user__isnull=False)
            ),
            models.UniqueConstraint(
                fields=["group", "child_group"],
                name="dir_membership_group_uniq",
                condition=Q(child_group__isnull=False),
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False, child_group__isnull=True)
                | Q(user__isnull=True, child_group__isnull=False),
                name="dir_membership_one_member",
            ),
        ]


class Role(models.Model):
    """An app role. Higher precedence wins when a user's groups map to several roles."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    precedence = models.IntegerField(default=0)
    billable = models.BooleanField(default=False)
    builtin = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.key


class GroupRoleMapping(models.Model):
    """IdP group -> app role, keyed on the group's id so renames in the IdP keep the mapping."""

    group = models.ForeignKey(DirectoryGroup, on_delete=models.CASCADE, related_name="role_mappings")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="group_mappings")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "role"], name="dir_grouprole_uniq")]


class RoleGrant(models.Model):
    """The effective role of a user, as last recomputed from group mappings."""

    user = models.OneToOneField(DirectoryUser, on_delete=models.CASCADE, related_name="role_grant")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="grants")
    source = models.CharField(max_length=255, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)


class AttributeMapping(models.Model):
    """Which SCIM attribute path feeds which app field; empty table = the IdP profile's defaults."""

    app_field = models.CharField(max_length=64, unique=True)
    scim_path = models.CharField(max_length=512)
    updated = models.DateTimeField(default=timezone.now)


class AppSession(models.Model):
    """A session of a directory user in the customer's SaaS app (what offboarding must kill)."""

    user_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user_id"], name="dir_appsession_live", condition=Q(revoked_at__isnull=True))
        ]


class AppApiToken(models.Model):
    """A personal API token a directory user created in the SaaS app (hashed; revoked on offboarding)."""

    user_id = models.UUIDField()
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, blank=True)
    digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user_id"], name="dir_apptoken_live", condition=Q(revoked_at__isnull=True))
        ]


class OffboardingRecord(models.Model):
    """The offboarding proof: what was removed for one deactivate/delete, and how long it took."""

    seq = models.BigIntegerField(unique=True)  # the user.deactivated / user.deleted event
    event_type = models.CharField(max_length=64)
    user_id = models.UUIDField()
    user_name = models.CharField(max_length=512, blank=True)
    requested_at = models.DateTimeField()  # when the IdP's request arrived
    completed_at = models.DateTimeField()  # when access was gone (this row's transaction)
    latency_seconds = models.FloatField()
    sessions_revoked = models.PositiveIntegerField(default=0)
    tokens_revoked = models.PositiveIntegerField(default=0)
    grants_removed = models.PositiveIntegerField(default=0)
    agents_torn_down = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["user_id"], name="dir_offboarding_user"),
            # The console's deprovision-latency rollup reads one day at a time.
            models.Index(fields=["completed_at"], name="dir_offboarding_completed"),
        ]
