"""The peer's User and Group: Django's stock user plus django-scim2's SCIM mixins.

django-scim2's default adapters read ``scim_id``, ``scim_external_id`` and ``user.scim_groups``,
which ``django.contrib.auth``'s User and Group do not have, so the library cannot serve them
unmodified. This is the library's own minimal setup (as in its test suite): ``AbstractUser`` with
``AbstractSCIMUserMixin`` and a group model with ``AbstractSCIMGroupMixin``.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class PeerGroup(AbstractSCIMGroupMixin):
    name = models.CharField("name", max_length=150, unique=True)

    def __str__(self) -> str:
        return self.name


class PeerUser(AbstractSCIMUserMixin, AbstractUser):
    scim_groups = models.ManyToManyField(PeerGroup, related_name="user_set", blank=True)
