"""Forms: they parse input; the rules are checked by the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.surveillance.notifications import (
    IDENTITY_REQUIRED,
    REQUIRED_BY_CATEGORY,
    SHOWN_BY_CATEGORY,
    NotificationInput,
)
from madoguchi.surveillance.rules import AGE_BANDS, REPORT_ITEMS, SYMPTOMS, URGENT_SIGNS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SEX_CHOICES = [("male", _("男")), ("female", _("女")), ("other", _("その他・不明"))]
TEST_CHOICES = [
    ("", "—"),
    ("pcr", _("PCR検査等（核酸増幅法）")),
    ("antigen", _("抗原定性検査")),
    ("antigen_quant", _("抗原定量検査")),
]
SPECIMEN_CHOICES = [
    ("", "—"),
    ("nasopharyngeal", _("鼻咽頭ぬぐい液")),
    ("nasal", _("鼻腔ぬぐい液")),
    ("saliva", _("唾液")),
]
# Fields shown for a 類型 only when it needs them (see notifications.SHOWN_BY_CATEGORY).
OPTIONAL_BY_CATEGORY = frozenset(
    {"symptoms", "onset_date", "test_method", "specimen_date", "death_date"}
)


def _date(label: StrOrPromise) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class NotificationForm(forms.Form):
    """発生届 (COVID-19). ``category`` fixes which optional items are shown."""

    # Messages come from the server, next to the field, in Japanese.
    use_required_attribute = False

    name = forms.CharField(label=_("氏名"), max_length=100, required=False)
    name_kana = forms.CharField(label=_("ふりがな"), max_length=100, required=False)
    sex = forms.ChoiceField(label=_("性別"), choices=SEX_CHOICES, required=False)
    birth_date = _date(_("生年月日"))
    occupation = forms.CharField(label=_("職業"), max_length=100, required=False)
    address = forms.CharField(label=_("住所"), max_length=200, required=False)
    residence_code = forms.CharField(
        label=_("所在地（市区町村の団体コード）"),
        max_length=6,
        required=False,
        help_text=_("6桁。例：神戸市 281000"),
    )
    phone = forms.CharField(label=_("電話番号"), max_length=20, required=False)
    email = forms.EmailField(label=_("メールアドレス（健康観察のリンク送付先）"), required=False)
    guardian = forms.CharField(
        label=_("保護者氏名（未成年の場合）"), max_length=100, required=False
    )
    symptoms = forms.MultipleChoiceField(
        label=_("症状"), choices=SYMPTOMS, required=False, widget=forms.CheckboxSelectMultiple
    )
    test_method = forms.ChoiceField(label=_("診断方法"), choices=TEST_CHOICES, required=False)
    specimen = forms.ChoiceField(label=_("検体"), choices=SPECIMEN_CHOICES, required=False)
    diagnosis_date = _date(_("診断年月日"))
    onset_date = _date(_("発病年月日"))
    specimen_date = _date(_("検体採取日"))
    death_date = _date(_("死亡年月日"))
    infection_route = forms.CharField(
        label=_("感染原因・経路・地域"), max_length=200, required=False
    )
    vaccine_doses = forms.IntegerField(
        label=_("ワクチン接種回数"), required=False, min_value=0, max_value=10
    )
    risk_factors = forms.BooleanField(label=_("重症化リスク因子あり"), required=False)
    needs_treatment = forms.BooleanField(label=_("治療が必要"), required=False)
    needs_oxygen = forms.BooleanField(label=_("酸素投与が必要"), required=False)
    hospitalisation = forms.BooleanField(label=_("入院を要する"), required=False)
    pregnant = forms.BooleanField(label=_("妊娠している"), required=False)
    doctor_notes = forms.CharField(
        label=_("医師が必要と認める事項"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, category: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category = category
        shown = SHOWN_BY_CATEGORY[category]
        for name in OPTIONAL_BY_CATEGORY - shown:
            del self.fields[name]
        if "test_method" not in shown:
            del self.fields["specimen"]
        for name in (*IDENTITY_REQUIRED, *REQUIRED_BY_CATEGORY[category]):
            self.fields[name].required = True

    def to_input(self) -> NotificationInput:
        d = self.cleaned_data
        return NotificationInput(
            category=self.category,
            name=d["name"].strip(),
            name_kana=d["name_kana"].strip(),
            sex=d["sex"],
            birth_date=d["birth_date"],
            address=d["address"].strip(),
            residence_code=d["residence_code"].strip(),
            phone=d["phone"].strip(),
            email=d["email"],
            occupation=d["occupation"].strip(),
            guardian=d["guardian"].strip(),
            symptoms=tuple(d.get("symptoms") or ()),
            test_method=d.get("test_method", ""),
            specimen=d.get("specimen", ""),
            diagnosis_date=d["diagnosis_date"],
            onset_date=d.get("onset_date"),
            specimen_date=d.get("specimen_date"),
            death_date=d.get("death_date"),
            infection_route=d["infection_route"].strip(),
            vaccine_doses=d["vaccine_doses"],
            risk_factors=d["risk_factors"],
            needs_treatment=d["needs_treatment"],
            needs_oxygen=d["needs_oxygen"],
            hospitalisation=d["hospitalisation"],
            pregnant=d["pregnant"],
            doctor_notes=d["doctor_notes"].strip(),
        )


ANSWER_CHOICES = [("no", _("いいえ")), ("yes", _("はい")), ("unknown", _("わからない"))]


class SelfReportForm(forms.Form):
    """Free-text temperature and SpO2: the service refuses 3.65 or 365 with a clear message."""

    temperature = forms.CharField(
        label=_("体温（℃）"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_("例：36.5"),
    )
    spo2 = forms.CharField(
        label=_("SpO2（%）パルスオキシメーターがある方"),
        max_length=5,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    urgent_signs = forms.MultipleChoiceField(
        label=_("次の症状はありますか（あてはまるものをすべて）"),
        choices=URGENT_SIGNS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    message = forms.CharField(
        label=_("保健所への連絡（任意）"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in REPORT_ITEMS:
            self.fields[key] = forms.ChoiceField(
                label=label,
                choices=ANSWER_CHOICES,
                initial="no",
                required=False,
                widget=forms.RadioSelect,
            )


class AgeBandCountForm(forms.Form):
    day = forms.DateField(label=_("日付"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index, band in enumerate(AGE_BANDS):
            self.fields[f"band_{index}"] = forms.IntegerField(
                label=band, required=False, min_value=0, max_value=10000, initial=0
            )

    def counts(self) -> dict[str, int]:
        return {band: self.cleaned_data.get(f"band_{i}") or 0 for i, band in enumerate(AGE_BANDS)}
