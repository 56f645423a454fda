"""Forms of the staff pages; they only parse, the services check and store."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.consultation.models import FaqEntry
from madoguchi.consultation.services import FaqData


class FaqForm(forms.Form):
    code = forms.SlugField(label=_("管理番号"), max_length=60, help_text=_("半角英数字とハイフン"))
    category = forms.CharField(label=_("分類"), max_length=50)
    department = forms.ChoiceField(label=_("担当部署"), required=False)
    question = forms.CharField(label=_("質問"), max_length=200)
    alternatives = forms.CharField(
        label=_("言い換え"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("住民が使いそうな別の言い方を1行に1つ"),
    )
    direct_answer = forms.CharField(
        label=_("一行回答"),
        max_length=200,
        required=False,
        help_text=_(
            "質問に一言で答える一文。回答の前に目立つように表示します"
            "（例：児童手当は2月・4月・6月・8月・10月・12月の各10日に振り込まれます）"
        ),
    )
    answer = forms.CharField(
        label=_("回答"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("電話番号などは {contact:キー} と書くと、自治体の設定の連絡先に置き換わります"),
    )
    question_en = forms.CharField(label=_("質問（英語）"), max_length=200, required=False)
    alternatives_en = forms.CharField(
        label=_("言い換え（英語）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("英語での別の言い方を1行に1つ"),
    )
    direct_answer_en = forms.CharField(label=_("一行回答（英語）"), max_length=200, required=False)
    answer_en = forms.CharField(
        label=_("回答（英語）"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "英語で質問した人や英語表示の人に表示します。空欄のときは日本語の回答に、"
            "日本語のみである旨を英語で添えて表示します"
        ),
    )
    valid_from = forms.DateField(
        label=_("掲載開始日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("掲載終了日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    is_published = forms.BooleanField(label=_("公開する"), required=False, initial=True)

    def __init__(self, *args: Any, departments: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("（なし）")), *departments]

    @staticmethod
    def initial_for(entry: FaqEntry) -> dict[str, object]:
        return {
            "code": entry.code,
            "category": entry.category,
            "department": entry.department.code if entry.department else "",
            "question": entry.question,
            "alternatives": "\n".join(entry.alternatives),
            "answer": entry.answer,
            "direct_answer": entry.direct_answer,
            "question_en": entry.question_en,
            "alternatives_en": "\n".join(entry.alternatives_en),
            "answer_en": entry.answer_en,
            "direct_answer_en": entry.direct_answer_en,
            "valid_from": entry.valid_from,
            "valid_until": entry.valid_until,
            "is_published": entry.is_published,
        }

    def data_object(self) -> FaqData:
        data = self.cleaned_data
        return FaqData(
            code=data["code"],
            category=data["category"],
            question=data["question"],
            answer=data["answer"],
            alternatives=tuple(a for a in data["alternatives"].splitlines() if a.strip()),
            department_code=data["department"] or "",
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            is_published=data["is_published"],
            direct_answer=data["direct_answer"],
            question_en=data["question_en"],
            alternatives_en=tuple(a for a in data["alternatives_en"].splitlines() if a.strip()),
            answer_en=data["answer_en"],
            direct_answer_en=data["direct_answer_en"],
        )


class CsvImportForm(forms.Form):
    file = forms.FileField(label=_("CSVファイル"), help_text=_("UTF-8 または Shift_JIS（cp932）"))


class SynonymForm(forms.Form):
    terms = forms.CharField(
        label=_("同じ意味の言葉"),
        max_length=500,
        help_text=_("「、」で区切って入力（例：マイナンバー、個人番号）"),
    )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("返信"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


class LineChannelForm(forms.Form):
    channel_secret = forms.CharField(
        label=_("チャネルシークレット"), max_length=200, widget=forms.PasswordInput
    )
    access_token = forms.CharField(
        label=_("チャネルアクセストークン"), max_length=1000, widget=forms.PasswordInput
    )
    basic_id = forms.RegexField(
        label=_("ベーシックID（友だち追加用）"),
        regex=r"^@[0-9a-z._-]{2,20}$",
        max_length=21,
        required=False,
        help_text=_(
            "@123abcde の形式。入力するとトップページに友だち追加のリンクとQRコードを表示します"
        ),
        error_messages={
            "invalid": _(
                "ベーシックIDは @123abcde のように、@ に続けて半角英数字で入力してください。"
            )
        },
    )
