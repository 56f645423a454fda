"""Request and response shapes of the case register's operations (health-centre scopes).

Shapes only: what a 発生届 requires, which values are allowed and how dates relate is checked
by the same services as the clinic's form (``surveillance.notifications``).
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from madoguchi.api.linkage.schemas import NO_NUL
from madoguchi.surveillance.diseases import COVID19, DISEASES
from madoguchi.surveillance.models import CaseStatus, FollowUpStatus

__all__ = [
    "CareIn",
    "CaseDetailOut",
    "CaseNotificationOut",
    "CaseOut",
    "CasePageOut",
    "ClinicOut",
    "FollowUpIn",
    "NotificationFiledOut",
    "NotificationIn",
    "SelfReportOut",
]

_SMALL = 10_000  # numbers the service judges itself; bounded here only against overflow


def _one_of(values: list[str]) -> str:
    """A pattern accepting one of ``values`` or the empty string."""
    return "^(" + "|".join(values) + ")?$"


DISEASE_PATTERN = _one_of(sorted(DISEASES))
FOLLOW_UP_PATTERN = _one_of(list(FollowUpStatus.values))
STATUS_PATTERN = _one_of(list(CaseStatus.values))


class _Out(Schema):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class NotificationIn(Schema):
    """The items of a 発生届, as the clinic's form has them (codes, not labels).

    ``residence_code`` is the 団体コード of the patient's 所在地 (the form looks it up from the
    place's name). Items the disease's 類型 does not show are ignored, as on the form.
    """

    model_config = ConfigDict(extra="forbid")

    clinic: int = Field(ge=1, le=2**63 - 1)
    disease: str = Field(default=COVID19, max_length=20)
    category: str = Field(max_length=30)
    name: str = Field(default="", max_length=100)
    name_kana: str = Field(default="", max_length=100)
    sex: Literal["", "male", "female", "other"] = ""
    birth_date: datetime.date | None = None
    address: str = Field(default="", max_length=200)
    residence_code: str = Field(default="", pattern=r"^([0-9]{6})?$")
    phone: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=254)
    occupation: str = Field(default="", max_length=100)
    guardian: str = Field(default="", max_length=100)
    disease_type: str = Field(default="", max_length=30)
    symptoms: list[str] = Field(default_factory=list, max_length=40)
    test_method: str = Field(default="", max_length=30)
    test_methods: list[str] = Field(default_factory=list, max_length=20)
    specimen: Literal["", "nasopharyngeal", "nasal", "saliva"] = ""
    first_visit_date: datetime.date | None = None
    diagnosis_date: datetime.date | None = None
    infection_date: datetime.date | None = None
    onset_date: datetime.date | None = None
    rash_date: datetime.date | None = None
    specimen_date: datetime.date | None = None
    death_date: datetime.date | None = None
    infection_route: str = Field(default="", max_length=200)
    infection_area: str = Field(default="", max_length=20)
    infection_country: str = Field(default="", max_length=100)
    vaccine_doses: int | None = Field(default=None, ge=-_SMALL, le=_SMALL)
    vaccine_1: str = Field(default="", max_length=10)
    vaccine_1_date: datetime.date | None = None
    vaccine_1_age: int | None = Field(default=None, ge=-_SMALL, le=_SMALL)
    vaccine_2: str = Field(default="", max_length=10)
    vaccine_2_date: datetime.date | None = None
    vaccine_2_age: int | None = Field(default=None, ge=-_SMALL, le=_SMALL)
    risk_factors: bool = False
    needs_treatment: bool = False
    needs_oxygen: bool = False
    hospitalisation: bool = False
    pregnant: bool = False
    doctor_notes: str = Field(default="", max_length=1000)

    @field_validator("symptoms", "test_methods")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        if any(len(code) > 40 for code in value):
            raise ValueError("a code is at most 40 characters")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        """The check of the form's e-mail field (the report link is sent there)."""
        value = value.strip()
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError("not an e-mail address") from None
        return value


class NotificationFiledOut(_Out):
    case: int
    notification: int
    linked: bool  # True: the notification joined an existing case (same person, same disease)
    case_municipality: str  # the body whose health centre holds the case (its URL name)


class ClinicOut(_Out):
    id: int
    name: str
    health_centre: str


class CaseOut(_Out):
    """A case without anything that identifies the patient."""

    id: int
    disease: str
    category: str
    status: str
    follow_up: str
    age_band: str
    residence_code: str
    health_centre: str
    day_zero: datetime.date
    observation_end: datetime.date
    created_at: datetime.datetime


class CasePageOut(_Out):
    items: list[CaseOut]
    next_cursor: str | None = None


class CaseNotificationOut(_Out):
    id: int
    clinic: str
    disease: str
    category: str
    submitted_at: datetime.datetime


class CaseDetailOut(CaseOut):
    name: str
    name_kana: str
    birth_date: datetime.date
    sex: str
    phone: str
    email: str
    disease_type: str
    symptomatic: bool
    onset_date: str | None = None
    specimen_date: str | None = None
    diagnosis_date: str | None = None
    care_setting: str
    care_from: str | None = None
    severity: str
    improved_on: str | None = None
    follow_up_note: str
    notifications: list[CaseNotificationOut]


class FollowUpIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(max_length=30, pattern=NO_NUL)
    note: str = Field(default="", max_length=2000, pattern=NO_NUL)


class CareIn(Schema):
    model_config = ConfigDict(extra="forbid")

    care_setting: str = Field(max_length=20, pattern=NO_NUL)
    care_from: datetime.date | None = None
    severity: str = Field(default="", max_length=20, pattern=NO_NUL)
    improved_on: datetime.date | None = None


class SelfReportOut(_Out):
    report_date: datetime.date
    temperature: str
    spo2: int | None = None
    answers: dict[str, str]
    urgent_signs: list[str]
    message: str
    updated_at: datetime.datetime
