"""Forms of the municipality's settings page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.contacts import normalize_phone
from madoguchi.tenants.models import CONTACT_KEY_PATTERN, ContactPurpose, Department


def _one_line(value: str) -> str:
    # Names keep their 全角 characters (神戸市（テスト）); only runs of spaces are folded.
    return " ".join(value.split())


class MunicipalityNameForm(forms.Form):
    name = forms.CharField(
        label=_("表示する名称"),
        max_length=50,
        help_text=_("ページの見出しとヘッダーに表示します（例：神戸市）"),
        error_messages={"required": _("表示する名称を入力してください。")},
    )

    def clean_name(self) -> str:
        return _one_line(str(self.cleaned_data["name"]))


class ContactPointForm(forms.Form):
    key = forms.CharField(
        label=_("キー"),
        max_length=40,
        validators=[
            RegexValidator(
                CONTACT_KEY_PATTERN,
                _(
                    "キーは sodai_gomi のように、半角英小文字で始まる英小文字・数字・_ "
                    "で入力してください。"
                ),
            )
        ],
        help_text=_(
            "本文で {contact:キー} と書くとこの連絡先になります。"
            "決まったキー：urgent_health（体調急変時）、fever_consultation（発熱相談）、"
            "sodai_gomi（粗大ごみ）、benefit_call_centre（給付金）、main（代表）"
        ),
        error_messages={"required": _("キーを入力してください。")},
    )
    name = forms.CharField(
        label=_("名称"),
        max_length=100,
        error_messages={"required": _("名称を入力してください。")},
    )
    phone = forms.CharField(
        label=_("電話番号"),
        max_length=30,
        required=False,
        help_text=_("例：078-123-4567、#7119"),
    )
    hours = forms.CharField(
        label=_("受付時間"), max_length=100, required=False, help_text=_("例：平日 9時〜17時")
    )
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        required=False,
        error_messages={"invalid": _("メールアドレスは name@example.jp の形で入力してください。")},
    )
    url = forms.URLField(
        label=_("ホームページ"),
        max_length=200,
        required=False,
        assume_scheme="https",
        error_messages={
            "invalid": _("ホームページは https:// から始まるアドレスで入力してください。")
        },
    )
    department = forms.ModelChoiceField(
        label=_("担当部署"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("（指定しない）"),
    )
    note = forms.CharField(
        label=_("注記"),
        max_length=100,
        required=False,
        help_text=_("番号の横に表示します（例：デモ用の番号です）"),
    )

    def __init__(
        self, *args: Any, departments: Any, key_fixed: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        department_field = self.fields["department"]
        assert isinstance(department_field, forms.ModelChoiceField)
        department_field.queryset = departments
        if key_fixed:
            self.fields["key"].disabled = True

    def clean_phone(self) -> str:
        return normalize_phone(str(self.cleaned_data.get("phone") or ""))

    def clean_name(self) -> str:
        return _one_line(str(self.cleaned_data["name"]))

    def clean_url(self) -> str:
        url = str(self.cleaned_data.get("url") or "")
        if url and not url.startswith(("https://", "http://")):
            raise ValidationError(
                _("ホームページは https:// から始まるアドレスで入力してください。")
            )
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not any(data.get(f) for f in ("phone", "email", "url")) and not self.errors:
            raise ValidationError(
                _("電話番号・メールアドレス・ホームページのどれか一つは入力してください。")
            )
        return data


PURPOSE_CHOICES = ContactPurpose.choices
