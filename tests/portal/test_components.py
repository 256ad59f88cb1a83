"""The design system's components render what they promise: names for buttons, labels for inputs,
empty states for empty tables, nothing inline that the CSP would block."""

from __future__ import annotations

from django.template.loader import render_to_string

C = "rollcall/components/"


def test_table_lists_rows_with_headers_or_shows_its_empty_state() -> None:
    full = render_to_string(C + "table.html", {"columns": ["Name", "Role"], "rows": [["Jane", "admin"]], "caption": "People"})
    assert '<th scope="col">Name</th>' in full and "<td>Jane</td>" in full and "People" in full
    empty = render_to_string(C + "table.html", {"columns": ["Name"], "rows": [], "empty_title": "No people yet", "empty_text": "Assign users in your IdP."})
    assert "<table" not in empty and "No people yet" in empty and "Assign users in your IdP." in empty


def test_copy_value_has_a_labelled_field_and_a_named_button() -> None:
    html = render_to_string(C + "copy_value.html", {"id": "url", "label": "Tenant URL", "value": "https://x/scim/v2/c?aadOptscim062020"})
    assert 'aria-label="Tenant URL"' in html and 'aria-label="Copy Tenant URL"' in html and 'data-copy-target="url"' in html
    wrapped = render_to_string(C + "copy_value.html", {"id": "v", "label": "Actions", "value": "a long value", "wrap": True})
    assert "<code" in wrapped and "copy__value--wrap" in wrapped


def test_secret_once_says_it_is_shown_once() -> None:
    html = render_to_string(C + "secret_once.html", {"id": "t", "label": "Your new token", "value": "rcs_x", "note": "Only a hash is kept."})
    assert 'role="region"' in html and "Only a hash is kept." in html and 'value="rcs_x"' in html


def test_alert_tones_and_roles() -> None:
    assert 'role="alert"' in render_to_string(C + "alert.html", {"tone": "error", "text": "Broken"})
    assert 'role="status"' in render_to_string(C + "alert.html", {"tone": "ok", "text": "Fine"})


def test_confirm_dialog_renders_as_modal_or_inline_with_its_fields() -> None:
    fields = (("action", "remove"), ("admin", 7))
    modal = render_to_string(C + "confirm_dialog.html", {"id": "d", "title": "Remove?", "text": "Sure?", "confirm_label": "Remove", "fields": fields, "tone": "danger"})
    assert '<dialog class="dialog" id="d"' in modal and 'name="admin" value="7"' in modal and "button--danger" in modal
    inline = render_to_string(C + "confirm_dialog.html", {"id": "d", "title": "Switch?", "text": "", "confirm_label": "Switch", "fields": (), "open": True, "cancel_url": "/back"})
    assert 'role="alertdialog"' in inline and 'href="/back"' in inline


def test_states_cover_empty_loading_and_error() -> None:
    assert 'role="status"' in render_to_string(C + "state.html", {"kind": "loading", "title": "Waiting"})
    assert "state--error" in render_to_string(C + "state.html", {"kind": "error", "title": "Could not load"})
    assert "state--empty" in render_to_string(C + "state.html", {"title": "Nothing"})


def test_stepper_marks_the_current_step_and_links_only_reachable_ones() -> None:
    steps = [
        {"label": "Provider", "state": "done", "url": "/a"},
        {"label": "Credentials", "state": "current", "url": "/b"},
        {"label": "Roles", "state": "locked", "url": ""},
    ]
    html = render_to_string(C + "stepper.html", {"steps": steps})
    assert 'href="/a"' in html and 'href="/b"' not in html and 'aria-current="step"' in html
    assert "(not yet available)" in html


def test_pages_carry_no_inline_style_or_script() -> None:
    import pathlib

    folder = pathlib.Path(__file__).resolve().parents[2] / "templates"
    pages = [t for t in folder.rglob("*.html") if "email" not in t.parts]  # mail clients need inline styles
    assert len(pages) > 20
    for template in pages:
        text = template.read_text()
        assert " style=" not in text and "<style" not in text, template
        assert "<script>" not in text and " on" + "click=" not in text, template
