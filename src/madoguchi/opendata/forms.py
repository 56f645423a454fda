"""Staff forms of the open-data console."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.opendata.models import NATIONAL_DATASETS, Licence
from madoguchi.opendata.report import ImportMode


class ImportForm(forms.Form):
    dataset = forms.ChoiceField(
        label=_("データセット"),
        choices=[(str(d), d.label) for d in NATIONAL_DATASETS],
        error_messages={"required": _("データセットを選んでください。")},
    )
    file = forms.FileField(
        label=_("CSV ファイル"),
        help_text=_(
            "国の項目定義の列名のCSV（UTF-8 または Shift_JIS）。"
            "同じ日付・番号の行は上書きされます。"
        ),
        error_messages={
            "required": _("取り込む CSV ファイルを選んでください。"),
            "empty": _("ファイルが空です。"),
        },
    )
    mode = forms.ChoiceField(
        label=_("問題のある行があったとき"),
        choices=[(str(m), m.label) for m in ImportMode],
        initial=ImportMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )


class LicenceForm(forms.Form):
    licence = forms.ChoiceField(label=_("ライセンス"), choices=Licence.choices)
