"""Forms of the resident report pages; every refusal is a Japanese message next to its field."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from madoguchi.reports.models import ReportArea, ReportCategory
from madoguchi.tenants.models import Department, Municipality

MAX_PHOTO_BYTES = 10 * 1024 * 1024


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class TypedSelect(forms.Select):
    """A choice the municipality typed in Japanese (an area name) is marked ``lang="ja"`` on a
    page in another language, as ``typed_ja`` marks such text elsewhere (WCAG 3.1.2)."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: Any,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if not (get_language() or "ja").startswith("ja") and _JAPANESE.search(str(label)):
            option["attrs"]["lang"] = "ja"
        return option


class ReportForm(forms.Form):
    category = forms.ChoiceField(label=_("困りごとの種類"), choices=(), widget=TypedSelect)
    description = forms.CharField(
        label=_("内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("例: 歩道の舗装がはがれて段差になっています。"),
    )
    area = forms.ChoiceField(label=_("地域"), required=False, choices=(), widget=TypedSelect)
    address = forms.CharField(
        label=_("住所・目印"),
        required=False,
        max_length=200,
        help_text=_("写真に位置情報がないときは、住所・目印か地域を入力してください。"),
    )
    email = forms.EmailField(
        label=_("メールアドレス"),
        required=False,
        help_text=_("対応の状況をお知らせします（任意）。公開されません。"),
        error_messages={"invalid": _("メールアドレスの形が正しくありません。")},
    )

    def __init__(
        self, *args: Any, municipality: Municipality, english: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [("", _("選んでください"))] + [
            (c.code, (c.name_en or c.name) if english else c.name)
            for c in ReportCategory.objects.filter(municipality=municipality, active=True).order_by(
                "code"
            )
        ]
        category.error_messages["required"] = _("困りごとの種類を選んでください。")
        category.error_messages["invalid_choice"] = _("種類は一覧から選んでください。")
        area = self.fields["area"]
        assert isinstance(area, forms.ChoiceField)
        area.choices = [("", _("選ばない"))] + [
            (str(a.pk), (a.name_en or a.name) if english else a.name)
            for a in ReportArea.objects.filter(municipality=municipality).order_by("name")
        ]
        area.error_messages["invalid_choice"] = _("地域は一覧から選んでください。")
        self.fields["description"].error_messages["required"] = _("内容を入力してください。")
        self.fields["description"].error_messages["max_length"] = _(
            "内容は2000文字以内で入力してください。"
        )


class LookupForm(forms.Form):
    receipt_number = forms.CharField(label=_("受付番号"), max_length=40)
    secret = forms.CharField(label=_("確認コード"), max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["receipt_number"].error_messages["required"] = _("受付番号を入力してください。")
        self.fields["secret"].error_messages["required"] = _("確認コードを入力してください。")


class CategoryForm(forms.Form):
    """A category as the municipality's admin sets it up; the code names it for good."""

    code = forms.SlugField(label=_("コード（半角英数字）"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=100)
    name_en = forms.CharField(label=_("英語の名称"), max_length=100, required=False)
    department = forms.TypedChoiceField(
        label=_("担当の課"), coerce=int, empty_value=None, required=False
    )
    active = forms.BooleanField(label=_("住民が選べる"), required=False, initial=True)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.TypedChoiceField)
        department.choices = [("", _("（なし）"))] + [
            (str(d.pk), d.name)
            for d in Department.objects.filter(municipality=municipality).order_by("code")
        ]
        department.error_messages["invalid_choice"] = _("担当の課は一覧から選んでください。")
        self.fields["code"].error_messages["required"] = _("コードを入力してください。")
        self.fields["code"].error_messages["invalid"] = _(
            "コードは半角英数字・ハイフン・下線で入力してください。"
        )
        self.fields["code"].error_messages["max_length"] = _("コードは40文字以内です。")
        self.fields["name"].error_messages["required"] = _("名称を入力してください。")
        self.fields["name"].error_messages["max_length"] = _("名称は100文字以内です。")
        self.fields["name_en"].error_messages["max_length"] = _("名称は100文字以内です。")


class AreaForm(forms.Form):
    """An area to add, or (with ``area``) a new name for an existing one."""

    area = forms.TypedChoiceField(
        label=_("変更する地域"), coerce=int, empty_value=None, required=False
    )
    name = forms.CharField(label=_("名称"), max_length=100)
    name_en = forms.CharField(label=_("英語の名称"), max_length=100, required=False)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area = self.fields["area"]
        assert isinstance(area, forms.TypedChoiceField)
        area.choices = [("", _("（新しく追加する）"))] + [
            (str(a.pk), a.name)
            for a in ReportArea.objects.filter(municipality=municipality).order_by("name")
        ]
        area.error_messages["invalid_choice"] = _("地域は一覧から選んでください。")
        self.fields["name"].error_messages["required"] = _("名称を入力してください。")
        self.fields["name"].error_messages["max_length"] = _("名称は100文字以内です。")
        self.fields["name_en"].error_messages["max_length"] = _("名称は100文字以内です。")


class RouteForm(forms.Form):
    """A route: reports of a category in an area (or in every area) go to a department."""

    category = forms.TypedChoiceField(label=_("種類"), coerce=int)
    area = forms.TypedChoiceField(label=_("地域"), coerce=int, empty_value=None, required=False)
    department = forms.TypedChoiceField(label=_("担当の課"), coerce=int)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.TypedChoiceField)
        category.choices = [("", _("選んでください"))] + [
            (str(c.pk), f"{c.name}（{c.code}）")
            for c in ReportCategory.objects.filter(municipality=municipality).order_by("code")
        ]
        category.error_messages["required"] = _("種類を選んでください。")
        category.error_messages["invalid_choice"] = _("種類は一覧から選んでください。")
        area = self.fields["area"]
        assert isinstance(area, forms.TypedChoiceField)
        area.choices = [("", _("すべての地域"))] + [
            (str(a.pk), a.name)
            for a in ReportArea.objects.filter(municipality=municipality).order_by("name")
        ]
        area.error_messages["invalid_choice"] = _("地域は一覧から選んでください。")
        department = self.fields["department"]
        assert isinstance(department, forms.TypedChoiceField)
        department.choices = [("", _("選んでください"))] + [
            (str(d.pk), d.name)
            for d in Department.objects.filter(municipality=municipality).order_by("code")
        ]
        department.error_messages["required"] = _("担当の課を選んでください。")
        department.error_messages["invalid_choice"] = _("担当の課は一覧から選んでください。")
