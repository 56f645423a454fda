from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.sso.models import DEFAULT_SCOPES, SignUpMode
from madoguchi.tenants.models import Department, Role


class SsoConfigForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("外部のアカウントでのサインインを有効にする"), required=False
    )
    label = forms.CharField(
        label=_("ボタンに表示する名前"),
        max_length=60,
        required=False,
        help_text=_("例：神戸市職員アカウント（空なら「（自治体名）のアカウント」）"),
    )
    issuer = forms.URLField(
        label=_("発行者（Issuer）URL"),
        max_length=300,
        assume_scheme="https",
        help_text=_(
            "Microsoft Entra ID なら https://login.microsoftonline.com/（テナントID）/v2.0"
        ),
        error_messages={
            "required": _("発行者URLを入力してください。"),
            "invalid": _("発行者URLを https:// から始まる形で入力してください。"),
        },
    )
    client_id = forms.CharField(
        label=_("クライアントID"),
        max_length=200,
        error_messages={"required": _("クライアントIDを入力してください。")},
    )
    client_secret = forms.CharField(
        label=_("クライアントシークレット"),
        max_length=500,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("保存済みのシークレットは表示しません。空欄のままなら変更しません。"),
    )
    scopes = forms.CharField(
        label=_("スコープ"),
        max_length=300,
        initial=DEFAULT_SCOPES,
        help_text=_("空白区切り。openid は常に含めます。"),
        error_messages={"required": _("スコープを入力してください。")},
    )
    mode = forms.ChoiceField(
        label=_("アカウントの作り方"),
        choices=SignUpMode.choices,
        widget=forms.RadioSelect,
        initial=SignUpMode.INVITE_ONLY,
        error_messages={"required": _("アカウントの作り方を選んでください。")},
    )
    require_sso = forms.BooleanField(
        label=_("職員のパスワードでのサインインを禁止する"),
        required=False,
        help_text=_(
            "運用管理者（プラットフォーム管理者）は、緊急時にパスワードと確認コードで入れます"
        ),
    )


class SsoMappingForm(forms.Form):
    claim = forms.CharField(
        label=_("クレーム名"),
        max_length=100,
        initial="groups",
        help_text=_("Entra ID のグループなら groups、アプリロールなら roles"),
        error_messages={"required": _("クレーム名を入力してください。")},
    )
    value = forms.CharField(
        label=_("値"),
        max_length=200,
        help_text=_("グループのオブジェクトIDなど、トークンに入る値そのもの"),
        error_messages={"required": _("値を入力してください。")},
    )
    department = forms.ChoiceField(label=_("部署"), required=False)
    role = forms.ChoiceField(
        label=_("役割"),
        choices=Role.choices,
        initial=Role.VIEWER,  # the least a wrong row can give
        error_messages={"required": _("役割を選んでください。")},
    )

    def __init__(self, *args: Any, departments: list[Department], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = {str(d.pk): d for d in departments}
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("自治体全体")), *((str(d.pk), d.name) for d in departments)]
        field.error_messages["invalid_choice"] = _("部署を一覧から選んでください。")
        role = self.fields["role"]
        role.error_messages["invalid_choice"] = _("役割を一覧から選んでください。")

    def cleaned_department(self) -> Department | None:
        return self.departments.get(self.cleaned_data.get("department") or "")
