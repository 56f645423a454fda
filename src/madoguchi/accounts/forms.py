from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PasswordStepForm(forms.Form):
    username = forms.CharField(
        label=_("ユーザー名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
        error_messages={"required": _("ユーザー名を入力してください。")},
    )
    password = forms.CharField(
        label=_("パスワード"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("パスワードを入力してください。")},
    )


class CodeStepForm(forms.Form):
    token = forms.CharField(
        label=_("確認コード（6桁）"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9０-９ ]*",
            }
        ),
        error_messages={"required": _("確認コードを入力してください。")},
        help_text=_("認証アプリ（Google Authenticator など）に表示される6桁の数字"),
    )
