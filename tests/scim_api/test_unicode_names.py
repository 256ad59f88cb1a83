"""One folding for userName everywhere: a lookup finds exactly the name a create calls a duplicate."""

from __future__ import annotations

import pytest

from directory.models import DirectoryUser

pytestmark = pytest.mark.django_db


def _found(scim, name: str) -> int:  # type: ignore[no-untyped-def]
    return int(scim.post("/Users/.search", {"filter": f'userName eq "{name}"'})["totalResults"])


@pytest.mark.parametrize(("stored", "other"), [("istanbul@h.test", "İstanbul@h.test"), ("straße@h.test", "STRASSE@h.test")])
def test_the_unique_index_and_the_filter_agree_on_case(scim, stored, other):
    assert scim.create_user(stored).status == 201
    created = scim.create_user(other)
    if created.status == 409:  # the database folds both to the same name: the lookup must find it
        assert _found(scim, other) == 1
    else:  # two different names: each finds itself only
        assert created.status == 201
        assert _found(scim, other) == 1 and _found(scim, stored) == 1


def test_names_are_stored_nfc_and_trimmed_so_equivalent_spellings_are_one_user(scim):
    decomposed = "rene\u0301@h.test"  # e + combining acute
    composed = "ren\u00e9@h.test"
    r = scim.create_user(f"  {decomposed} ")
    assert r.status == 201 and r["userName"] == composed
    assert scim.create_user(composed).status == 409
    assert _found(scim, decomposed) == 1 and _found(scim, f" {composed}") == 1
    assert DirectoryUser.objects.get().user_name == composed
