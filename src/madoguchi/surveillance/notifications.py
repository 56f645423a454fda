"""Checking a 発生届 against its disease, its 類型 and the order of its dates, before anything
is stored. What each disease and 類型 shows and requires is data in :mod:`diseases`.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from madoguchi.surveillance.diseases import (
    COVID19,
    DISEASES,
    INFECTION_AREAS,
    VACCINATION_ANSWERS,
    Category,
    Disease,
)
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.rules import age_on

IDENTITY_REQUIRED = ("name", "name_kana", "sex", "birth_date", "address", "residence_code")
# Items kept whatever the 類型 (the rest are kept only when the 類型 shows them).
ALWAYS_KEPT = frozenset({"disease", "category", "phone", "email", "extra", *IDENTITY_REQUIRED})


@dataclass(frozen=True, slots=True)
class NotificationInput:
    """The items of a 発生届, parsed but not yet checked (``disease``: a code in DISEASES)."""

    category: str
    name: str
    name_kana: str
    sex: str
    birth_date: datetime.date | None
    address: str
    residence_code: str
    disease: str = COVID19
    disease_type: str = ""  # 病型 (麻しん)
    phone: str = ""
    email: str = ""
    occupation: str = ""
    guardian: str = ""
    symptoms: tuple[str, ...] = ()
    test_method: str = ""
    test_methods: tuple[str, ...] = ()  # 麻しん: several 診断方法 may apply
    specimen: str = ""
    test_result: str = ""
    first_visit_date: datetime.date | None = None
    diagnosis_date: datetime.date | None = None
    infection_date: datetime.date | None = None
    onset_date: datetime.date | None = None
    rash_date: datetime.date | None = None  # 発疹出現日 (麻しん: day 0)
    specimen_date: datetime.date | None = None
    death_date: datetime.date | None = None
    infection_route: str = ""
    infection_area: str = ""  # domestic / abroad / unknown (麻しん)
    infection_country: str = ""
    risk_factors: bool = False
    needs_treatment: bool = False
    needs_oxygen: bool = False
    hospitalisation: bool = False
    pregnant: bool = False
    vaccine_doses: int | None = None
    vaccine_1: str = ""  # 予防接種歴 1回目: yes / no / unknown (麻しん)
    vaccine_1_date: datetime.date | None = None
    vaccine_1_age: int | None = None
    vaccine_2: str = ""
    vaccine_2_date: datetime.date | None = None
    vaccine_2_age: int | None = None
    doctor_notes: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def items(self) -> dict[str, object]:
        """Everything stored (encrypted) on the notification, dates as ISO text."""
        out: dict[str, object] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, datetime.date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out

    @property
    def symptomatic(self) -> bool:
        return self.category != Category.ASYMPTOMATIC and bool(self.symptoms or self.onset_date)


def _missing(field_name: str) -> SurveillanceError:
    return SurveillanceError(
        ErrorCode.REQUIRED, _("この類型では入力が必要です。"), field=field_name
    )


def notification_visible(data: NotificationInput) -> NotificationInput:
    """``data`` with every item its disease's 類型 does not show set back to empty.

    Hidden items are ignored, whatever a form, a CSV row or a caller sent. An unknown disease
    or 類型 leaves ``data`` as it is (:func:`notification_check` refuses it).
    """
    disease = DISEASES.get(data.disease)
    if disease is None or disease.category(data.category) is None:
        return data
    kept = ALWAYS_KEPT | disease.items(data.category)
    empty: dict[str, Any] = {}  # each field's own default, whatever its type
    for item in dataclasses.fields(NotificationInput):
        if item.name in kept:
            continue
        if item.default_factory is not dataclasses.MISSING:
            empty[item.name] = item.default_factory()
        else:
            empty[item.name] = item.default
    return dataclasses.replace(data, **empty)


def notification_check(data: NotificationInput, *, today: datetime.date) -> list[SurveillanceError]:
    """Every problem with ``data``, each naming its field; empty when it can be filed."""
    disease = DISEASES.get(data.disease)
    if disease is None:
        return [SurveillanceError(ErrorCode.REQUIRED, _("疾患を選んでください。"), field="disease")]
    spec = disease.category(data.category)
    if spec is None:
        return [
            SurveillanceError(ErrorCode.REQUIRED, _("類型を選んでください。"), field="category")
        ]
    errors: list[SurveillanceError] = []
    for name in IDENTITY_REQUIRED:
        if not getattr(data, name):
            errors.append(
                SurveillanceError(ErrorCode.REQUIRED, _("入力してください。"), field=name)
            )
    for name in spec.required:
        if not getattr(data, name):
            errors.append(_missing(name))
    if data.category == Category.PATIENT and not data.symptoms:
        errors.append(
            SurveillanceError(
                ErrorCode.REQUIRED,
                _(
                    "患者（確定例）では症状を1つ以上選んでください。症状がなければ「無症状病原体保有者」です。"
                ),
                field="symptoms",
            )
        )
    errors.extend(_choices_check(data, disease))
    errors.extend(_criteria_check(data, disease, needs_laboratory=spec.needs_laboratory))
    errors.extend(_dates_check(data, today=today))
    if data.vaccine_doses is not None and not 0 <= data.vaccine_doses <= 10:
        errors.append(
            SurveillanceError(
                ErrorCode.OUT_OF_RANGE,
                _("0から10の回数で入力してください。"),
                field="vaccine_doses",
            )
        )
    return errors


def _not_a_choice(field_name: str) -> SurveillanceError:
    return SurveillanceError(ErrorCode.OUT_OF_RANGE, _("選択肢にない値です。"), field=field_name)


def _choices_check(data: NotificationInput, disease: Disease) -> list[SurveillanceError]:
    errors: list[SurveillanceError] = []
    symptoms = {code for code, _label in disease.symptoms}
    tests = {t.code for t in disease.test_methods}
    if any(s not in symptoms for s in data.symptoms):
        errors.append(_not_a_choice("symptoms"))
    if data.test_method and data.test_method not in tests:
        errors.append(_not_a_choice("test_method"))
    if any(t not in tests for t in data.test_methods):
        errors.append(_not_a_choice("test_methods"))
    if data.disease_type and disease.disease_type(data.disease_type) is None:
        errors.append(_not_a_choice("disease_type"))
    answers = {code for code, _label in VACCINATION_ANSWERS}
    for name in ("vaccine_1", "vaccine_2"):
        if getattr(data, name) and getattr(data, name) not in answers:
            errors.append(_not_a_choice(name))
    if data.infection_area and data.infection_area not in dict(INFECTION_AREAS):
        errors.append(_not_a_choice("infection_area"))
    return errors


def _criteria_check(
    data: NotificationInput, disease: Disease, *, needs_laboratory: bool
) -> list[SurveillanceError]:
    """The 病型's criteria, the dates symptoms need, 予防接種歴 and 感染地域."""
    errors: list[SurveillanceError] = []
    kind = disease.disease_type(data.disease_type)
    laboratory = {t.code for t in disease.test_methods if t.laboratory}
    needs_test = needs_laboratory or (kind is not None and kind.laboratory)
    if data.test_methods and needs_test and not laboratory & set(data.test_methods):
        errors.append(
            SurveillanceError(
                ErrorCode.REQUIRED,
                _(
                    "検査による診断方法を1つ以上選んでください（臨床決定のみでは届け出られません）。"
                ),
                field="test_methods",
            )
        )
    if kind is not None and data.symptoms:
        met = all(set(group) & set(data.symptoms) for group in kind.symptom_groups)
        if not met:
            errors.append(
                SurveillanceError(ErrorCode.REQUIRED, str(kind.criteria), field="symptoms")
            )
    for symptom, item in disease.symptom_dates:
        if symptom in data.symptoms and getattr(data, item) is None:
            errors.append(
                SurveillanceError(
                    ErrorCode.REQUIRED,
                    _("この症状がある場合は日付を入力してください。"),
                    field=item,
                )
            )
    for dose in ("vaccine_1", "vaccine_2"):
        answer = getattr(data, dose)
        day, age = getattr(data, f"{dose}_date"), getattr(data, f"{dose}_age")
        if answer not in ("", "yes") and (day is not None or age is not None):
            errors.append(
                SurveillanceError(
                    ErrorCode.OUT_OF_RANGE,
                    _("接種日・接種年齢は、接種歴が「有」のときだけ入力してください。"),
                    field=f"{dose}_date" if day is not None else f"{dose}_age",
                )
            )
        if age is not None and not 0 <= age <= 120:
            errors.append(
                SurveillanceError(
                    ErrorCode.OUT_OF_RANGE,
                    _("0から120の年齢で入力してください。"),
                    field=f"{dose}_age",
                )
            )
    if data.infection_area == "abroad" and not data.infection_country.strip():
        errors.append(
            SurveillanceError(
                ErrorCode.REQUIRED,
                _("国外の場合は、推定される感染国を入力してください。"),
                field="infection_country",
            )
        )
    return errors


def _dates_check(data: NotificationInput, *, today: datetime.date) -> list[SurveillanceError]:
    errors: list[SurveillanceError] = []
    dates = {
        "birth_date": data.birth_date,
        "first_visit_date": data.first_visit_date,
        "diagnosis_date": data.diagnosis_date,
        "infection_date": data.infection_date,
        "onset_date": data.onset_date,
        "rash_date": data.rash_date,
        "specimen_date": data.specimen_date,
        "death_date": data.death_date,
        "vaccine_1_date": data.vaccine_1_date,
        "vaccine_2_date": data.vaccine_2_date,
    }
    for name, value in dates.items():
        if value is not None and value > today:
            errors.append(
                SurveillanceError(
                    ErrorCode.DATE_FUTURE, _("未来の日付は入力できません。"), field=name
                )
            )
    # (earlier, later, message, the field the message belongs to)
    order = (
        (
            "onset_date",
            "diagnosis_date",
            _("発病年月日が診断年月日より後になっています。"),
            "onset_date",
        ),
        (
            "first_visit_date",
            "diagnosis_date",
            _("初診年月日が診断年月日より後になっています。"),
            "first_visit_date",
        ),
        (
            "specimen_date",
            "diagnosis_date",
            _("検体採取日が診断年月日より後になっています。"),
            "specimen_date",
        ),
        (
            "infection_date",
            "onset_date",
            _("感染推定日が発病年月日より後になっています。"),
            "infection_date",
        ),
        (
            "onset_date",
            "death_date",
            _("死亡年月日が発病年月日より前になっています。"),
            "death_date",
        ),
        (
            "birth_date",
            "diagnosis_date",
            _("生年月日が診断年月日より後になっています。"),
            "birth_date",
        ),
        ("onset_date", "rash_date", _("発疹出現日が発病年月日より前になっています。"), "rash_date"),
        (
            "rash_date",
            "death_date",
            _("死亡年月日が発疹出現日より前になっています。"),
            "death_date",
        ),
        (
            "birth_date",
            "vaccine_1_date",
            _("接種日が生年月日より前になっています。"),
            "vaccine_1_date",
        ),
        (
            "birth_date",
            "vaccine_2_date",
            _("接種日が生年月日より前になっています。"),
            "vaccine_2_date",
        ),
        (
            "vaccine_1_date",
            "vaccine_2_date",
            _("2回目の接種日が1回目より前になっています。"),
            "vaccine_2_date",
        ),
    )
    for earlier, later, message, target in order:
        first, second = dates[earlier], dates[later]
        if first is not None and second is not None and first > second:
            errors.append(SurveillanceError(ErrorCode.DATE_ORDER, message, field=target))
    return errors


def in_four_groups(data: NotificationInput, *, today: datetime.date) -> bool:
    """65歳以上, 入院を要する者, 重症化リスクがあり治療・酸素が必要な者, 妊婦."""
    old = data.birth_date is not None and age_on(data.birth_date, today) >= 65
    risky = data.risk_factors and (data.needs_treatment or data.needs_oxygen)
    return old or data.hospitalisation or risky or data.pregnant
