"""The admin console's form for a new API client (shape only; rules are in services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.api.clients.scopes import Scope


class ApiClientCreateForm(forms.Form):
    name = forms.CharField(
        label=_("名前"),
        max_length=100,
        help_text=_("つなぐシステムの名前（例：住民記録システム）"),
        error_messages={"required": _("名前を入力してください。")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("権限（スコープ）"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("権限を一つ以上選んでください。")},
    )
