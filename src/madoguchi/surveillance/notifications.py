"""Checking a 発生届 against its 類型 and the order of its dates, before anything is stored."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Category
from madoguchi.surveillance.rules import age_on

# Items each 類型 requires beyond the patient's identity (hidden on the form otherwise).
REQUIRED_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    Category.PATIENT: ("diagnosis_date", "test_method", "specimen_date", "onset_date"),
    Category.ASYMPTOMATIC: ("diagnosis_date", "test_method", "specimen_date"),
    Category.SUSPECTED: ("diagnosis_date", "onset_date"),
    Category.DEAD: ("diagnosis_date", "test_method", "specimen_date", "death_date"),
    Category.DEAD_SUSPECTED: ("diagnosis_date", "death_date"),
}
# Items the form shows for a 類型 (the rest are hidden and ignored).
SHOWN_BY_CATEGORY: dict[str, frozenset[str]] = {
    Category.PATIENT: frozenset({"symptoms", "onset_date", "test_method", "specimen_date"}),
    Category.ASYMPTOMATIC: frozenset({"test_method", "specimen_date"}),
    Category.SUSPECTED: frozenset({"symptoms", "onset_date"}),
    Category.DEAD: frozenset(
        {"symptoms", "onset_date", "test_method", "specimen_date", "death_date"}
    ),
    Category.DEAD_SUSPECTED: frozenset({"symptoms", "onset_date", "death_date"}),
}
IDENTITY_REQUIRED = ("name", "name_kana", "sex", "birth_date", "address", "residence_code")


@dataclass(frozen=True, slots=True)
class NotificationInput:
    """The items of a 発生届 (COVID-19), parsed but not yet checked."""

    category: str
    name: str
    name_kana: str
    sex: str
    birth_date: datetime.date | None
    address: str
    residence_code: str
    phone: str = ""
    email: str = ""
    occupation: str = ""
    guardian: str = ""
    symptoms: tuple[str, ...] = ()
    test_method: str = ""
    specimen: str = ""
    test_result: str = ""
    first_visit_date: datetime.date | None = None
    diagnosis_date: datetime.date | None = None
    infection_date: datetime.date | None = None
    onset_date: datetime.date | None = None
    specimen_date: datetime.date | None = None
    death_date: datetime.date | None = None
    infection_route: str = ""
    infection_area: str = ""
    risk_factors: bool = False
    needs_treatment: bool = False
    needs_oxygen: bool = False
    hospitalisation: bool = False
    pregnant: bool = False
    vaccine_doses: int | None = None
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


def notification_check(data: NotificationInput, *, today: datetime.date) -> list[SurveillanceError]:
    """Every problem with ``data``, each naming its field; empty when it can be filed."""
    errors: list[SurveillanceError] = []
    if data.category not in REQUIRED_BY_CATEGORY:
        return [
            SurveillanceError(ErrorCode.REQUIRED, _("類型を選んでください。"), field="category")
        ]
    for name in IDENTITY_REQUIRED:
        if not getattr(data, name):
            errors.append(
                SurveillanceError(ErrorCode.REQUIRED, _("入力してください。"), field=name)
            )
    for name in REQUIRED_BY_CATEGORY[data.category]:
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
    dates = {
        "birth_date": data.birth_date,
        "first_visit_date": data.first_visit_date,
        "diagnosis_date": data.diagnosis_date,
        "infection_date": data.infection_date,
        "onset_date": data.onset_date,
        "specimen_date": data.specimen_date,
        "death_date": data.death_date,
    }
    for name, value in dates.items():
        if value is not None and value > today:
            errors.append(
                SurveillanceError(
                    ErrorCode.DATE_FUTURE, _("未来の日付は入力できません。"), field=name
                )
            )
    order = (
        ("onset_date", "diagnosis_date", _("発病年月日が診断年月日より後になっています。")),
        ("first_visit_date", "diagnosis_date", _("初診年月日が診断年月日より後になっています。")),
        ("specimen_date", "diagnosis_date", _("検体採取日が診断年月日より後になっています。")),
        ("infection_date", "onset_date", _("感染推定日が発病年月日より後になっています。")),
        ("onset_date", "death_date", _("死亡年月日が発病年月日より前になっています。")),
        ("birth_date", "diagnosis_date", _("生年月日が診断年月日より後になっています。")),
    )
    for earlier, later, message in order:
        first, second = dates[earlier], dates[later]
        if first is not None and second is not None and first > second:
            target = "death_date" if later == "death_date" else earlier
            errors.append(SurveillanceError(ErrorCode.DATE_ORDER, message, field=target))
    if data.vaccine_doses is not None and not 0 <= data.vaccine_doses <= 10:
        errors.append(
            SurveillanceError(
                ErrorCode.OUT_OF_RANGE,
                _("0から10の回数で入力してください。"),
                field="vaccine_doses",
            )
        )
    return errors


def in_four_groups(data: NotificationInput, *, today: datetime.date) -> bool:
    """65歳以上, 入院を要する者, 重症化リスクがあり治療・酸素が必要な者, 妊婦."""
    old = data.birth_date is not None and age_on(data.birth_date, today) >= 65
    risky = data.risk_factors and (data.needs_treatment or data.needs_oxygen)
    return old or data.hospitalisation or risky or data.pregnant
