"""Forms of the booking pages; every refusal is a Japanese message next to its field."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.reservations.models import Resource, ResourceKind
from madoguchi.tenants.models import Department, Municipality


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


WEEKDAYS = "月火水木金土日"
_WEEKLY_LINE = re.compile(
    r"^([月火水木金土日]+)\s+(\d{1,2}:\d{2})\s*[-~～〜]\s*(\d{1,2}:\d{2})\s+(\d{1,3})\s+(\d{1,4})$"
)


def weekly_parse(text: str) -> list[dict[str, Any]]:
    """Lines like ``月水金 09:00-12:00 30 2`` (weekdays, hours, minutes a slot, seats a slot)."""
    rules: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        found = _WEEKLY_LINE.match(line)
        start = end = None
        if found is not None:
            try:
                start = datetime.time.fromisoformat(found[2].zfill(5))
                end = datetime.time.fromisoformat(found[3].zfill(5))
            except ValueError:
                start = end = None
        if found is None or start is None or end is None:
            raise forms.ValidationError(
                _("%(line)s 行目の書き方が違います（例: 月水金 09:00-12:00 30 2）。"),
                params={"line": number},
            )
        minutes, capacity = int(found[4]), int(found[5])
        if end <= start or not 5 <= minutes <= 480 or capacity < 1:
            raise forms.ValidationError(
                _(
                    "%(line)s 行目: 終わりは始まりより後に、"
                    "1枠は5〜480分、定員は1以上にしてください。"
                ),
                params={"line": number},
            )
        rules.append(
            {
                "weekdays": sorted({WEEKDAYS.index(c) for c in found[1]}),
                "start": start.isoformat("minutes"),
                "end": end.isoformat("minutes"),
                "minutes": minutes,
                "capacity": capacity,
            }
        )
    return rules


class ResourceForm(forms.Form):
    """A resource as the municipality's admin sets it up; saving an existing code changes it."""

    code = forms.SlugField(label=_("コード（半角英数字）"), max_length=40)
    name = forms.CharField(label=_("名称"), max_length=120)
    name_en = forms.CharField(label=_("英語の名称"), max_length=120, required=False)
    kind = forms.ChoiceField(label=_("種類"), choices=ResourceKind.choices)
    place = forms.CharField(label=_("場所"), max_length=200, required=False)
    department = forms.ChoiceField(label=_("担当の課"), required=False)
    min_age = forms.IntegerField(
        label=_("対象の年齢（下限）"), min_value=0, max_value=150, required=False
    )
    max_age = forms.IntegerField(
        label=_("対象の年齢（上限）"), min_value=0, max_value=150, required=False
    )
    districts = forms.CharField(
        label=_("対象の地区"),
        max_length=1000,
        required=False,
        help_text=_("読点（、）かカンマで区切ります。空欄ならすべての地区です。"),
    )
    weekly = forms.CharField(
        label=_("週間の予定"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
        help_text=_(
            "1行に1つ: 曜日 時間 1枠の分数 1枠の定員（例: 月水金 09:00-12:00 30 2）。"
            "空欄なら今の予定を変えません。"
        ),
    )
    waitlist = forms.BooleanField(label=_("キャンセル待ちを受け付ける"), required=False)
    open_on_holidays = forms.BooleanField(label=_("土日祝日も開く"), required=False)
    active = forms.BooleanField(label=_("住民が予約できる"), required=False, initial=True)

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        assert isinstance(department, forms.ChoiceField)
        department.choices = [("", _("（なし）"))] + [
            (d.code, d.name)
            for d in Department.objects.filter(municipality=municipality).order_by("code")
        ]
        messages = {
            "required": _("入力してください。"),
            "invalid": _("書き方が違います。"),
            "invalid_choice": _("一覧から選んでください。"),
            "max_length": _("長すぎます。"),
            "min_value": _("0以上の数を入力してください。"),
            "max_value": _("150以下の数を入力してください。"),
        }
        for field in self.fields.values():
            field.error_messages.update(messages)
        self.fields["code"].error_messages["invalid"] = _(
            "コードは半角英数字・ハイフン・下線で入力してください。"
        )

    def clean_weekly(self) -> list[dict[str, Any]] | None:
        text = self.cleaned_data.get("weekly", "")
        return weekly_parse(text) if text.strip() else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and low > high:
            self.add_error("max_age", _("上限は下限以上にしてください。"))
        return data

    def as_load_item(self) -> dict[str, Any]:
        """The cleaned form as one item of :func:`services.resources_load`."""
        data = self.cleaned_data
        item: dict[str, Any] = {
            "code": data["code"],
            "name": data["name"].strip(),
            "name_en": data["name_en"].strip(),
            "kind": data["kind"],
            "place": data["place"].strip(),
            "department": data["department"],
            "min_age": data["min_age"],
            "max_age": data["max_age"],
            "districts": [d.strip() for d in re.split(r"[、,，]", data["districts"]) if d.strip()],
            "waitlist": data["waitlist"],
            "open_on_holidays": data["open_on_holidays"],
            "active": data["active"],
        }
        if data["weekly"] is not None:
            item["weekly"] = data["weekly"]
        return item


class ClosedDayForm(forms.Form):
    """A day to close for one resource or for all of them (a blank resource)."""

    resource = forms.TypedChoiceField(
        label=_("窓口・会場"), coerce=int, empty_value=None, required=False
    )
    day = forms.DateField(
        label=_("休みにする日"),
        help_text=_("例: 2026-12-28"),
        error_messages={
            "required": _("休みにする日を入力してください。"),
            "invalid": _("日付は 2026-12-28 の形で入力してください。"),
        },
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=_("理由（職員向けのメモ）"),
        max_length=200,
        required=False,
        help_text=_("例: 施設点検"),
        error_messages={"max_length": _("理由は200文字以内で入力してください。")},
    )

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        resource = self.fields["resource"]
        assert isinstance(resource, forms.TypedChoiceField)
        resource.choices = [("", _("すべての窓口・会場"))] + [
            (str(r.pk), r.name)
            for r in Resource.objects.filter(municipality=municipality).order_by("name")
        ]
        resource.error_messages["invalid_choice"] = _("窓口・会場は一覧から選んでください。")
