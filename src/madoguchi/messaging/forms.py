"""Forms of the messaging pages; choices come from the municipality's own topics and areas."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from madoguchi.messaging import selectors
from madoguchi.tenants.models import Municipality

LANGUAGE_CHOICES = [("ja", "日本語"), ("en", "English")]


def _topic_choices(municipality: Municipality, active_only: bool) -> list[tuple[str, str]]:
    language = get_language() or "ja"
    return [
        (t.code, t.label(language))
        for t in selectors.topic_list(municipality=municipality, active_only=active_only)
    ]


def _area_choices(municipality: Municipality, blank: str) -> list[tuple[str, str]]:
    language = get_language() or "ja"
    areas = [(a.code, a.label(language)) for a in selectors.area_list(municipality=municipality)]
    return [("", blank), *areas]


class ChoicesForm(forms.Form):
    """What a resident wants to hear about, where, in which language."""

    topics = forms.MultipleChoiceField(
        label=_("受け取るお知らせ"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("受け取りたいお知らせの種類を1つ以上選んでください。"),
            "invalid_choice": _("お知らせの種類を一覧から選んでください。"),
        },
    )
    area = forms.ChoiceField(
        label=_("お住まいの地域"),
        required=False,
        error_messages={"invalid_choice": _("地域を一覧から選んでください。")},
    )
    language = forms.ChoiceField(
        label=_("言語"),
        choices=LANGUAGE_CHOICES,
        widget=forms.RadioSelect,
        initial="ja",
        error_messages={"invalid_choice": _("言語を一覧から選んでください。")},
    )

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        topics = self.fields["topics"]
        assert isinstance(topics, forms.MultipleChoiceField)
        topics.choices = _topic_choices(municipality, active_only=True)
        area = self.fields["area"]
        assert isinstance(area, forms.ChoiceField)
        area.choices = _area_choices(municipality, str(_("指定しない（市内全域）")))


class SubscribeForm(ChoicesForm):
    email = forms.EmailField(
        label=_("メールアドレス"),
        max_length=254,
        error_messages={
            "required": _("メールアドレスを入力してください。"),
            "invalid": _("メールアドレスの形式が正しくありません。"),
        },
    )
    field_order = ["email", "topics", "area", "language"]


class TopicForm(forms.Form):
    code = forms.SlugField(
        label=_("コード"), max_length=40, help_text=_("半角英数字（例：bousai）")
    )
    name = forms.CharField(label=_("名称"), max_length=50)
    name_en = forms.CharField(label=_("名称（英語）"), max_length=80, required=False)
    urgent = forms.BooleanField(label=_("緊急（防災）：配信を控える時間でも送る"), required=False)
    is_active = forms.BooleanField(label=_("受付中"), required=False, initial=True)


class AreaForm(forms.Form):
    code = forms.SlugField(
        label=_("コード"),
        max_length=40,
        help_text=_("半角英数字（例：chuo）"),
        error_messages={"invalid": _("コードは半角英数字・ハイフン・下線で入力してください。")},
    )
    name = forms.CharField(label=_("名称"), max_length=50)
    name_en = forms.CharField(label=_("名称（英語）"), max_length=80, required=False)


class AreaCsvForm(forms.Form):
    file = forms.FileField(
        label=_("地域のCSVファイル"),
        help_text=_("1行に1地域：コード,名称,英語の名称（UTF-8）"),
        error_messages={"required": _("CSVファイルを選んでください。")},
    )


class SettingsForm(forms.Form):
    quiet_start = forms.TimeField(
        label=_("配信を控える時間（開始）"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("時刻は 21:00 のように入力してください。")},
    )
    quiet_end = forms.TimeField(
        label=_("配信を控える時間（終了）"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("時刻は 8:00 のように入力してください。")},
    )
    approval_threshold = forms.IntegerField(
        label=_("監督者の承認が必要な宛先数"),
        min_value=1,
        max_value=10_000_000,
        help_text=_("この数より多い宛先への配信は、監督者が承認してから送ります"),
    )


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("テンプレート名"), max_length=80)
    topic = forms.ChoiceField(label=_("お知らせの種類"))
    subject_ja = forms.CharField(label=_("件名"), max_length=120)
    body_ja = forms.CharField(
        label=_("本文"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("差し込み項目：{municipality}（自治体名）、{topic}（種類）、{area}（地域）"),
    )
    subject_en = forms.CharField(label=_("件名（英語）"), max_length=120, required=False)
    body_en = forms.CharField(
        label=_("本文（英語）"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        topic = self.fields["topic"]
        assert isinstance(topic, forms.ChoiceField)
        topic.choices = _topic_choices(municipality, active_only=False)


class SendForm(forms.Form):
    template = forms.ChoiceField(label=_("テンプレート"))
    topics = forms.MultipleChoiceField(
        label=_("宛先：お知らせの種類"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("お知らせの種類を1つ以上選んでください。")},
    )
    areas = forms.MultipleChoiceField(
        label=_("宛先：地域（選ばないと全域）"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    languages = forms.MultipleChoiceField(
        label=_("宛先：言語"),
        choices=LANGUAGE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["ja", "en"],
        error_messages={"required": _("言語を1つ以上選んでください。")},
    )
    scheduled_at = forms.DateTimeField(
        label=_("送信日時（空欄はすぐに送信）"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"invalid": _("日時は 2026-04-01 09:00 のように入力してください。")},
    )

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        template = self.fields["template"]
        assert isinstance(template, forms.ChoiceField)
        template.choices = [
            (str(t.pk), t.name) for t in selectors.template_list(municipality=municipality)
        ]
        topics = self.fields["topics"]
        assert isinstance(topics, forms.MultipleChoiceField)
        topics.choices = _topic_choices(municipality, active_only=False)
        areas = self.fields["areas"]
        assert isinstance(areas, forms.MultipleChoiceField)
        areas.choices = _area_choices(municipality, "")[1:]


class NoticeTemplateForm(forms.Form):
    """A municipality's wording of one kind of notice; an empty field keeps the default."""

    subject_ja = forms.CharField(label=_("件名"), max_length=200, required=False)
    body_ja = forms.CharField(
        label=_("本文"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    subject_en = forms.CharField(label=_("件名（英語）"), max_length=200, required=False)
    body_en = forms.CharField(
        label=_("本文（英語）"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )


class NoticeFilterForm(forms.Form):
    """The filters of the notification log (invalid values are ignored with a message)."""

    kind = forms.ChoiceField(label=_("通知の種類"), required=False)
    state = forms.ChoiceField(label=_("状態"), required=False)

    def __init__(self, *args: Any, kinds: list[tuple[str, str]], **kwargs: Any) -> None:
        from madoguchi.messaging.models import NoticeState

        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [("", _("すべて")), *kinds]
        state = self.fields["state"]
        assert isinstance(state, forms.ChoiceField)
        state.choices = [("", _("すべて")), *NoticeState.choices]
