"""Forms of the booking pages; every refusal is a Japanese message next to its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.reservations.models import Resource


class BookingForm(forms.Form):
    name = forms.CharField(label=_("お名前"), max_length=100)
    email = forms.EmailField(
        label=_("メールアドレス"),
        required=False,
        help_text=_("受付番号と前日のお知らせをお送りします（任意）。"),
    )
    phone = forms.RegexField(
        label=_("電話番号"),
        required=False,
        max_length=20,
        regex=r"^[0-9０-９\-－ ]{10,20}$",
        error_messages={"invalid": _("電話番号は数字とハイフンで入力してください。")},
    )
    birth_date = forms.DateField(
        label=_("生年月日"),
        required=False,
        help_text=_("例: 1980-04-01"),
        error_messages={"invalid": _("生年月日は 1980-04-01 の形で入力してください。")},
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    district = forms.ChoiceField(label=_("お住まいの地区"), required=False, choices=())

    def __init__(self, *args: Any, resource: Resource, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = _("お名前を入力してください。")
        if resource.min_age is None and resource.max_age is None:
            del self.fields["birth_date"]
        else:
            self.fields["birth_date"].required = True
            self.fields["birth_date"].error_messages["required"] = _(
                "対象年齢の確認のため、生年月日を入力してください。"
            )
        if resource.districts:
            district = self.fields["district"]
            assert isinstance(district, forms.ChoiceField)
            district.choices = [("", _("選んでください"))] + [(d, d) for d in resource.districts]
            district.required = True
            district.widget.attrs["lang"] = "ja"  # the districts' own names
            district.error_messages["required"] = _("お住まいの地区を選んでください。")
            district.error_messages["invalid_choice"] = _("地区は一覧から選んでください。")
        else:
            del self.fields["district"]


class WaitlistForm(BookingForm):
    email = forms.EmailField(
        label=_("メールアドレス"),
        help_text=_("空きが出たら、順番にこのアドレスへ予約をお送りします。"),
    )

    def __init__(self, *args: Any, resource: Resource, **kwargs: Any) -> None:
        super().__init__(*args, resource=resource, **kwargs)
        del self.fields["phone"]
        self.fields["email"].error_messages["required"] = _("メールアドレスを入力してください。")


class LookupForm(forms.Form):
    receipt_number = forms.CharField(label=_("受付番号"), max_length=40)
    secret = forms.CharField(label=_("確認コード"), max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["receipt_number"].error_messages["required"] = _("受付番号を入力してください。")
        self.fields["secret"].error_messages["required"] = _("確認コードを入力してください。")


class SlotsCsvForm(forms.Form):
    file = forms.FileField(
        label=_("予約枠のCSVファイル"),
        help_text=_("1行に1枠: 日付,開始,終了,定員（例: 2026-12-07,09:00,09:30,4）"),
        error_messages={"required": _("CSVファイルを選んでください。")},
    )
