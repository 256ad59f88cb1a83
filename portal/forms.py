"""Portal and console forms: shape checks only; the services decide and say what is wrong."""

from __future__ import annotations

from django import forms


def _attrs(**extra: str) -> dict[str, str]:
    return {"class": "input", **extra}


class AccountForm(forms.Form):
    email = forms.EmailField(
        label="Work email", max_length=254, widget=forms.EmailInput(attrs=_attrs(autocomplete="email"))
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 10 characters; not a common password and not your email.",
        widget=forms.PasswordInput(attrs=_attrs(autocomplete="new-password")),
    )
    password_again = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs=_attrs(autocomplete="new-password"))
    )


class LoginForm(forms.Form):
    email = forms.CharField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs=_attrs(autocomplete="username", autofocus=""))
    )
    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs=_attrs(autocomplete="current-password"))
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "class": "input input--code",
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": "",
                "spellcheck": "false",
                "maxlength": "6",
            }
        ),
    )


class VerifyForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs=_attrs(autocomplete="one-time-code", autofocus="", spellcheck="false")),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(
        label="Email of the new admin", max_length=254, widget=forms.EmailInput(attrs=_attrs(autocomplete="off"))
    )
