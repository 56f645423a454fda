"""Forms of the operator and admin consoles (validation of shape only; rules are in services)."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.tenants.models import Department, Role

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._@+-]+")
DEPARTMENT_CODE_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
WHOLE = "whole"  # the department choice meaning "the whole municipality"
NONE = "-"  # the role choice meaning "no role here"


class BodySearchForm(forms.Form):
    q = forms.CharField(
        label=_("団体名・よみ・団体コード"),
        max_length=50,
        required=False,
        help_text=_("例：佐用町、さよう、サヨウ、285013"),
    )


class BodyAddForm(forms.Form):
    slug = forms.CharField(
        label=_("URL名"),
        max_length=60,
        help_text=_("アドレスの一部になる名前。半角の英小文字・数字とハイフン（例：sayo）"),
        error_messages={"required": _("URL名を入力してください。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    activate = forms.BooleanField(
        label=_("すぐにサービスを開始する（トップページに表示し、職員ページを開く）"),
        required=False,
    )


class SlugForm(forms.Form):
    slug = forms.CharField(
        label=_("新しいURL名"),
        max_length=60,
        help_text=_("変更後も、以前のアドレスは新しいアドレスへ転送されます。"),
        error_messages={"required": _("URL名を入力してください。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        error_messages={
            "required": _("メールアドレスを入力してください。"),
            "invalid": _("メールアドレスの形式が正しくありません（例：taro@example.lg.jp）。"),
        },
    )
    username = forms.CharField(
        label=_("ユーザー名"),
        max_length=150,
        help_text=_("サインインに使う名前。半角英数字と . _ @ + - が使えます。"),
        error_messages={"required": _("ユーザー名を入力してください。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    display_name = forms.CharField(
        label=_("表示名（氏名）"),
        max_length=100,
        required=False,
    )

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if not USERNAME_PATTERN.fullmatch(username):
            raise forms.ValidationError(
                _("ユーザー名には半角英数字と . _ @ + - だけが使えます。"), code="invalid"
            )
        return username


class StaffInviteForm(InviteForm):
    department = forms.ChoiceField(label=_("所属"))
    role = forms.ChoiceField(label=_("役割"), choices=Role.choices)

    def __init__(self, *args: object, departments: list[Department], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(WHOLE, _("自治体全体")), *department_choices(departments)]
        self.fields["role"].initial = Role.CLERK


class ClinicInviteForm(InviteForm):
    health_centre = forms.TypedChoiceField(label=_("保健所"), coerce=int)
    address = forms.CharField(label=_("所在地"), max_length=200)
    phone = forms.CharField(label=_("電話番号"), max_length=20)
    doctor_name = forms.CharField(label=_("医師名"), max_length=50)

    def __init__(self, *args: object, centres: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["health_centre"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = centres
        self.fields["display_name"].label = _("医療機関名")
        self.fields["display_name"].required = True


def department_choices(departments: list[Department]) -> list[tuple[str, str]]:
    return [(str(d.pk), d.name) for d in departments]


class DepartmentCreateForm(forms.Form):
    code = forms.CharField(
        label=_("部署コード"),
        max_length=40,
        help_text=_("半角の英小文字・数字とハイフン（例：kenko-fukushi）。後から変更できません。"),
        error_messages={"required": _("部署コードを入力してください。")},
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    name = forms.CharField(
        label=_("部署名"),
        max_length=100,
        error_messages={"required": _("部署名を入力してください。")},
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        if not DEPARTMENT_CODE_PATTERN.fullmatch(code):
            raise forms.ValidationError(
                _("部署コードは半角の英小文字・数字とハイフンで入力してください。"),
                code="invalid",
            )
        return code


class DepartmentRenameForm(forms.Form):
    name = forms.CharField(
        label=_("部署名"),
        max_length=100,
        error_messages={"required": _("部署名を入力してください。")},
    )


ROLE_CHOICES = [(NONE, _("なし")), *Role.choices]


class RolesForm(forms.Form):
    """One role select per department plus one for the whole municipality."""

    def __init__(
        self,
        *args: object,
        departments: list[Department],
        current: dict[int | None, str],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.rows: list[tuple[Department | None, str]] = []
        for department in [None, *departments]:
            name = f"role_{department.pk}" if department else "role_whole"
            self.fields[name] = forms.ChoiceField(
                label=department.name if department else _("自治体全体"),
                choices=ROLE_CHOICES,
                initial=current.get(department.pk if department else None, NONE),
                required=False,  # a select left out of the form keeps its role
            )
            self.rows.append((department, name))

    def wanted(self) -> list[tuple[Department | None, Role | None]]:
        result: list[tuple[Department | None, Role | None]] = []
        for department, name in self.rows:
            value = self.cleaned_data.get(name) or ""
            if not value:
                continue
            result.append((department, None if value == NONE else Role(value)))
        return result
