"""Forms: they parse input; the rules are checked by the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from madoguchi.surveillance.diseases import (
    COVID19,
    DISEASES,
    INFECTION_AREAS,
    VACCINATION_ANSWERS,
)
from madoguchi.surveillance.errors import SurveillanceError
from madoguchi.surveillance.notifications import (
    ALWAYS_KEPT,
    IDENTITY_REQUIRED,
    NotificationInput,
)
from madoguchi.surveillance.reports import spo2_read, temperature_read
from madoguchi.surveillance.residence import Place, place_exact, place_search
from madoguchi.surveillance.rules import AGE_BANDS, REPORT_ITEMS, URGENT_SIGNS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

SEX_CHOICES = [("male", _("男")), ("female", _("女")), ("other", _("その他・不明"))]
SPECIMEN_CHOICES = [
    ("", "—"),
    ("nasopharyngeal", _("鼻咽頭ぬぐい液")),
    ("nasal", _("鼻腔ぬぐい液")),
    ("saliva", _("唾液")),
]


def _date(label: StrOrPromise) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _vaccination(label: StrOrPromise) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, choices=VACCINATION_ANSWERS, required=False, widget=forms.RadioSelect
    )


def _age(label: StrOrPromise) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=False, min_value=0, max_value=120)


class NotificationForm(forms.Form):
    """発生届 of one disease and 類型: only the items the registry shows for them are fields.

    The fields are declared in the order of the paper form; each disease keeps its own subset.
    """

    # Messages come from the server, next to the field, in Japanese.
    use_required_attribute = False

    name = forms.CharField(label=_("氏名"), max_length=100, required=False)
    name_kana = forms.CharField(label=_("ふりがな"), max_length=100, required=False)
    sex = forms.ChoiceField(
        label=_("性別"), choices=SEX_CHOICES, required=False, widget=forms.RadioSelect
    )
    birth_date = _date(_("生年月日"))
    occupation = forms.CharField(label=_("職業"), max_length=100, required=False)
    address = forms.CharField(label=_("住所"), max_length=200, required=False)
    residence = forms.CharField(
        label=_("所在地の市区町村"),
        max_length=40,
        required=False,
        help_text=_(
            "市区町村名・よみがな・団体コードのどれかを入れて「市区町村を検索」を押してください"
            "（例：神戸市長田区、ながたく、281069）。"
        ),
    )
    # The candidates the text in ``residence`` found, offered as radios (none chosen).
    residence_code = forms.CharField(
        label=_("市区町村の候補"), max_length=6, required=False, widget=forms.RadioSelect
    )
    phone = forms.CharField(label=_("電話番号"), max_length=20, required=False)
    email = forms.EmailField(label=_("メールアドレス（健康観察のリンク送付先）"), required=False)
    guardian = forms.CharField(
        label=_("保護者氏名（未成年の場合）"), max_length=100, required=False
    )
    disease_type = forms.ChoiceField(
        label=_("病型"), choices=(), required=False, widget=forms.RadioSelect
    )
    symptoms = forms.MultipleChoiceField(
        label=_("症状"), choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    test_method = forms.ChoiceField(label=_("診断方法"), choices=(), required=False)
    test_methods = forms.MultipleChoiceField(
        label=_("診断方法"), choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    specimen = forms.ChoiceField(label=_("検体"), choices=SPECIMEN_CHOICES, required=False)
    first_visit_date = _date(_("初診年月日"))
    diagnosis_date = _date(_("診断年月日"))
    infection_date = _date(_("感染推定年月日"))
    onset_date = _date(_("発病年月日"))
    rash_date = _date(_("発疹出現年月日"))
    specimen_date = _date(_("検体採取日"))
    death_date = _date(_("死亡年月日"))
    infection_route = forms.CharField(
        label=_("感染原因・経路・地域"), max_length=200, required=False
    )
    infection_area = forms.ChoiceField(
        label=_("感染地域"), choices=INFECTION_AREAS, required=False, widget=forms.RadioSelect
    )
    infection_country = forms.CharField(label=_("国外の場合の国名"), max_length=100, required=False)
    vaccine_1 = _vaccination(_("予防接種歴（1回目）"))
    vaccine_1_date = _date(_("1回目の接種年月日（分かれば）"))
    vaccine_1_age = _age(_("1回目の接種年齢（接種日が不明の場合）"))
    vaccine_2 = _vaccination(_("予防接種歴（2回目）"))
    vaccine_2_date = _date(_("2回目の接種年月日（分かれば）"))
    vaccine_2_age = _age(_("2回目の接種年齢（接種日が不明の場合）"))
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

    def __init__(
        self,
        *args: Any,
        category: str,
        disease: str = COVID19,
        prefecture: str = "",
        searching: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # 「市区町村を検索」: show the candidates, judge nothing else yet.
        self.searching = searching and self.is_bound
        self.place: Place | None = None
        self.disease = DISEASES[disease]
        self.category = category
        spec = self.disease.category(category)
        assert spec is not None, "the view checks the 類型 first"
        shown = ALWAYS_KEPT | self.disease.items(category)
        for name in [n for n in self.fields if n not in shown and n != "residence"]:
            del self.fields[name]
        choices: dict[str, list[tuple[str, StrOrPromise]]] = {
            "symptoms": list(self.disease.symptoms),
            "test_method": [("", "—"), *((t.code, t.label) for t in self.disease.test_methods)],
            "test_methods": [(t.code, t.label) for t in self.disease.test_methods],
            "disease_type": [(t.code, t.label) for t in self.disease.disease_types],
        }
        for name, options in choices.items():
            if name in self.fields:
                field = self.fields[name]
                assert isinstance(field, forms.ChoiceField)
                field.choices = options
        for name, label in self.disease.labels:
            if name in self.fields:
                self.fields[name].label = label
        for name in (*IDENTITY_REQUIRED, *spec.required):
            self.fields[name].required = True
        self.fields["residence_code"].required = False
        self.fields["residence"].required = True
        self.fields["residence"].error_messages["required"] = gettext(
            "市区町村名・よみがな・団体コードのどれかを入力してください。"
        )
        self._places_offer(prefecture)
        for field in self.fields.values():
            if isinstance(field.widget, forms.RadioSelect):
                # The summary names the question: 「性別：選択肢から1つ選んでください。」
                field.error_messages["required"] = gettext("選択肢から1つ選んでください。")

    def _places_offer(self, prefecture: str) -> None:
        query = ""
        if self.is_bound:
            query = str(self.data.get("residence") or self.data.get("residence_code") or "")
            if query and not self.data.get("residence") and isinstance(self.data, QueryDict):
                data = self.data.copy()  # a bare code, as scripts send it
                data["residence"] = query
                self.data = data
        self.query = query.strip()[:40]
        self.places = place_search(self.query, prefecture=prefecture) if self.query else []
        field = self.fields["residence_code"]
        assert isinstance(field.widget, forms.RadioSelect)
        field.widget.choices = [(p.code, f"{p.label}（{p.code}）") for p in self.places]

    def full_clean(self) -> None:
        if self.searching:
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.query:
            return data
        offered = {p.code: p for p in self.places}
        chosen = str(data.get("residence_code") or "")
        self.place = offered.get(chosen) or place_exact(self.query)
        if self.place is None and "residence" not in self.errors:
            if not self.places:
                self.add_error(
                    "residence",
                    gettext(
                        "該当する市区町村が見つかりません。市区町村名・よみがな・団体コードを"
                        "確かめてください。"
                    ),
                )
            else:
                self.add_error("residence_code", gettext("候補から市区町村を選んでください。"))
        return data

    def to_input(self) -> NotificationInput:
        d = self.cleaned_data
        text = {
            name: d.get(name, "").strip()
            for name in ("occupation", "guardian", "infection_route", "infection_country")
        }
        return NotificationInput(
            category=self.category,
            disease=self.disease.code,
            name=d["name"].strip(),
            name_kana=d["name_kana"].strip(),
            sex=d["sex"],
            birth_date=d["birth_date"],
            address=d["address"].strip(),
            residence_code=self.place.code if self.place is not None else "",
            phone=d["phone"].strip(),
            email=d["email"],
            occupation=text["occupation"],
            guardian=text["guardian"],
            disease_type=d.get("disease_type", ""),
            symptoms=tuple(d.get("symptoms") or ()),
            test_method=d.get("test_method", ""),
            test_methods=tuple(d.get("test_methods") or ()),
            specimen=d.get("specimen", ""),
            first_visit_date=d.get("first_visit_date"),
            diagnosis_date=d.get("diagnosis_date"),
            infection_date=d.get("infection_date"),
            onset_date=d.get("onset_date"),
            rash_date=d.get("rash_date"),
            specimen_date=d.get("specimen_date"),
            death_date=d.get("death_date"),
            infection_route=text["infection_route"],
            infection_area=d.get("infection_area", ""),
            infection_country=text["infection_country"],
            vaccine_doses=d.get("vaccine_doses"),
            vaccine_1=d.get("vaccine_1", ""),
            vaccine_1_date=d.get("vaccine_1_date"),
            vaccine_1_age=d.get("vaccine_1_age"),
            vaccine_2=d.get("vaccine_2", ""),
            vaccine_2_date=d.get("vaccine_2_date"),
            vaccine_2_age=d.get("vaccine_2_age"),
            risk_factors=d.get("risk_factors", False),
            needs_treatment=d.get("needs_treatment", False),
            needs_oxygen=d.get("needs_oxygen", False),
            hospitalisation=d.get("hospitalisation", False),
            pregnant=d.get("pregnant", False),
            doctor_notes=d.get("doctor_notes", "").strip(),
        )


ANSWER_CHOICES = [("yes", _("はい")), ("no", _("いいえ")), ("unknown", _("わからない"))]


class SelfReportForm(forms.Form):
    """Free-text temperature and SpO2 (the service reads 365 as 36.5 and refuses 3.65 with a
    message showing how to write it); every symptom question must be answered."""

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
        # Each question is answered by the patient: nothing is preselected (see clean()).
        for key, label in REPORT_ITEMS:
            self.fields[key] = forms.ChoiceField(
                label=label,
                choices=ANSWER_CHOICES,
                required=False,
                widget=forms.RadioSelect,
            )

    def clean(self) -> dict[str, Any]:
        """Every question needs an answer, except when an urgent sign is ticked: then the
        report goes through at once (unanswered as わからない) and the page says to call."""
        data = super().clean() or {}
        # The service checks these again; here they join the other messages in one round.
        for key, read in (("temperature", temperature_read), ("spo2", spo2_read)):
            if key in data:
                try:
                    read(str(data[key]))
                except SurveillanceError as exc:
                    self.add_error(key, exc.message)
        if data.get("urgent_signs"):
            return data
        for key, _label in REPORT_ITEMS:
            if not data.get(key) and key not in self.errors:
                self.add_error(key, gettext("はい・いいえ・わからないのどれかを選んでください。"))
        return data


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
