from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.audit.models import EntryKind


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("種別"), required=False, choices=[("", _("すべて")), *EntryKind.choices]
    )
    action = forms.CharField(label=_("操作（前方一致）"), required=False, max_length=64)
    actor = forms.CharField(label=_("操作者"), required=False, max_length=150)
    object_type = forms.CharField(label=_("対象の種類"), required=False, max_length=64)
    object_id = forms.CharField(label=_("対象のID"), required=False, max_length=64)
    date_from = forms.DateField(
        label=_("期間（から）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("日付は 2026-04-01 の形で入力してください。")},
    )
    date_to = forms.DateField(
        label=_("期間（まで）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("日付は 2026-04-01 の形で入力してください。")},
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("終わりの日付は始まりの日付より後にしてください。"))
        return cleaned
