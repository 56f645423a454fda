"""The notifiable diseases (届出の対象となる感染症) as data.

Each disease declares the 類型 (and 病型) a doctor can notify, the items shown and required for
each 類型 (感染症法第12条 and the disease's 発生届 form), its symptom checklist and test methods,
how its day 0 is found, the windows and the close-contact definition of its 疫学調査, and what
follows the notification: daily self-reports, publication in the 陽性患者属性 dataset, the 2022
four-groups rule and the 療養証明書. The observation rules (療養期間) are in
:mod:`madoguchi.surveillance.rules`, keyed by the disease code.

Item names are the fields of :class:`notifications.NotificationInput`; an item not shown for a
類型 is ignored when the notification is filed.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.surveillance.rules import SYMPTOMS as COVID_SYMPTOMS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = [
    "COVID19",
    "DISEASES",
    "DISEASE_CHOICES",
    "INFECTION_AREAS",
    "MEASLES",
    "VACCINATION_ANSWERS",
    "Category",
    "CategorySpec",
    "ContactKind",
    "DayOffset",
    "Disease",
    "DiseaseType",
    "Investigation",
    "TestMethod",
    "day_resolve",
    "disease_codes",
    "disease_get",
]

COVID19 = "covid19"
MEASLES = "measles"


class Category(models.TextChoices):
    """類型 of a notification (each disease offers some of them)."""

    PATIENT = "patient", _("患者（確定例）")
    ASYMPTOMATIC = "asymptomatic", _("無症状病原体保有者")
    SUSPECTED = "suspected", _("疑似症患者")
    DEAD = "dead", _("感染症死亡者の死体")
    DEAD_SUSPECTED = "dead_suspected", _("感染症死亡疑い者の死体")


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """One 類型 of a disease: the items it shows beyond the disease's common ones, and requires."""

    category: str
    shown: frozenset[str]
    required: tuple[str, ...]
    needs_laboratory: bool = False  # a laboratory test method must be among the test methods

    @property
    def label(self) -> StrOrPromise:
        return Category(self.category).label


@dataclass(frozen=True, slots=True)
class TestMethod:
    code: str
    label: StrOrPromise
    laboratory: bool = True  # False for 臨床決定


@dataclass(frozen=True, slots=True)
class DiseaseType:
    """病型. ``symptom_groups``: each group needs at least one of its symptoms (臨床診断例)."""

    code: str
    label: StrOrPromise
    laboratory: bool
    symptom_groups: tuple[tuple[str, ...], ...] = ()
    criteria: StrOrPromise = ""


class ContactKind(models.TextChoices):
    """Kinds of contact a close-contact definition (濃厚接触者) may count."""

    HOUSEHOLD = "household", _("同居している")
    SHARED_SPACE = "shared_space", _("同じ室内や車内など、空間を共有した")
    NEAR_15_MINUTES = "near_15_minutes", _("1メートル以内で15分以上、必要な感染予防策なしで接触")
    CARE_WITHOUT_PROTECTION = "care_without_protection", _("適切な感染防護なしに診察・看護・介護")
    BODY_FLUIDS = "body_fluids", _("気道分泌液や体液に直接触れた")


@dataclass(frozen=True, slots=True)
class DayOffset:
    """A day counted from a date of the case: ``days`` after it (negative: before it).

    ``date`` is ``day_zero`` or a date the notification gave and the case keeps in
    ``Case.health`` (``onset_date``, ``rash_date``).
    """

    date: str
    days: int
    label: StrOrPromise  # how the page explains the day: 発病日の1日前


def day_resolve(
    offsets: tuple[DayOffset, ...], *, day_zero: datetime.date, dates: Mapping[str, object]
) -> tuple[datetime.date, StrOrPromise] | None:
    """The day of the first offset whose date the case has, with its label; None when none."""
    for offset in offsets:
        raw = day_zero if offset.date == "day_zero" else dates.get(offset.date)
        if isinstance(raw, str) and raw:
            raw = datetime.date.fromisoformat(raw)
        if isinstance(raw, datetime.date):
            return raw + datetime.timedelta(days=offset.days), offset.label
    return None


@dataclass(frozen=True, slots=True)
class Investigation:
    """The 積極的疫学調査 of a disease.

    Each window bound is a list of offsets, the first whose date the case has applying (the
    last is counted from day 0, which every case has). A contact is a close contact
    (濃厚接触者) when it falls in the infectious period and is of one of ``contact_kinds``;
    the contact form shows those kinds only.
    """

    infectious_from: tuple[DayOffset, ...]
    infectious_to: tuple[DayOffset, ...]  # empty: the period has no end the judgement uses
    behaviour_from: tuple[DayOffset, ...]  # 行動歴: the first day asked about
    contact_kinds: tuple[ContactKind, ...]
    severity_by_spo2: bool  # 重症度 軽症/中等症I/中等症II/重症 (the COVID-19 classification)
    source: str


@dataclass(frozen=True, slots=True)
class Disease:
    code: str
    name: StrOrPromise
    notice: StrOrPromise  # 類 and when to notify, shown to the clinic
    categories: tuple[CategorySpec, ...]
    common: frozenset[str]  # items shown for every 類型
    symptoms: tuple[tuple[str, StrOrPromise], ...]
    test_methods: tuple[TestMethod, ...]
    investigation: Investigation
    disease_types: tuple[DiseaseType, ...] = ()
    labels: tuple[tuple[str, StrOrPromise], ...] = ()  # item labels particular to the disease
    symptom_dates: tuple[tuple[str, str], ...] = ()  # (symptom, date item required with it)
    day_zero_symptomatic: tuple[str, ...] = ("onset_date",)
    day_zero_otherwise: tuple[str, ...] = ("specimen_date", "diagnosis_date")
    self_reports: bool = False  # 健康観察: report links, daily reports, their alerts
    published: bool = False  # a 陽性患者属性 row in the body's open data
    four_groups: bool = False  # the 2022 four-groups rule and the age-band counts
    certificate: bool = False  # 療養証明書 (就業制限)

    def category(self, code: str) -> CategorySpec | None:
        return next((c for c in self.categories if c.category == code), None)

    def category_choices(self) -> list[tuple[str, StrOrPromise]]:
        return [(c.category, c.label) for c in self.categories]

    def items(self, category: str) -> frozenset[str]:
        """Items shown for ``category`` (identity items excluded)."""
        spec = self.category(category)
        return self.common | spec.shown if spec is not None else frozenset()

    def disease_type(self, code: str) -> DiseaseType | None:
        return next((t for t in self.disease_types if t.code == code), None)

    def label(self, item: str) -> StrOrPromise | None:
        return dict(self.labels).get(item)


VACCINATION_ANSWERS: tuple[tuple[str, StrOrPromise], ...] = (
    ("yes", _("有")),
    ("no", _("無")),
    ("unknown", _("不明")),
)
INFECTION_AREAS: tuple[tuple[str, StrOrPromise], ...] = (
    ("domestic", _("国内")),
    ("abroad", _("国外")),
    ("unknown", _("不明")),
)

_COVID_OPTIONAL = frozenset({"symptoms", "onset_date", "test_method", "specimen", "specimen_date"})

COVID = Disease(
    code=COVID19,
    name=_("新型コロナウイルス感染症"),
    notice=_("新型インフルエンザ等感染症・全数把握（直ちに届出）"),
    categories=(
        CategorySpec(
            Category.PATIENT,
            _COVID_OPTIONAL,
            ("diagnosis_date", "test_method", "specimen_date", "onset_date"),
        ),
        CategorySpec(
            Category.ASYMPTOMATIC,
            frozenset({"test_method", "specimen", "specimen_date"}),
            ("diagnosis_date", "test_method", "specimen_date"),
        ),
        CategorySpec(
            Category.SUSPECTED,
            frozenset({"symptoms", "onset_date"}),
            ("diagnosis_date", "onset_date"),
        ),
        CategorySpec(
            Category.DEAD,
            _COVID_OPTIONAL | {"death_date"},
            ("diagnosis_date", "test_method", "specimen_date", "death_date"),
        ),
        CategorySpec(
            Category.DEAD_SUSPECTED,
            frozenset({"symptoms", "onset_date", "death_date"}),
            ("diagnosis_date", "death_date"),
        ),
    ),
    common=frozenset(
        {
            "occupation",
            "guardian",
            "test_result",
            "diagnosis_date",
            "infection_route",
            "vaccine_doses",
            "risk_factors",
            "needs_treatment",
            "needs_oxygen",
            "hospitalisation",
            "pregnant",
            "doctor_notes",
        }
    ),
    symptoms=COVID_SYMPTOMS,
    test_methods=(
        TestMethod("pcr", _("PCR検査等（核酸増幅法）")),
        TestMethod("antigen", _("抗原定性検査")),
        TestMethod("antigen_quant", _("抗原定量検査")),
    ),
    investigation=Investigation(
        infectious_from=(DayOffset("day_zero", -2, _("起算日の2日前")),),
        infectious_to=(),
        behaviour_from=(DayOffset("day_zero", -14, _("起算日の14日前")),),
        contact_kinds=(
            ContactKind.HOUSEHOLD,
            ContactKind.NEAR_15_MINUTES,
            ContactKind.CARE_WITHOUT_PROTECTION,
            ContactKind.BODY_FLUIDS,
        ),
        severity_by_spo2=True,
        source=(
            "国立感染症研究所「新型コロナウイルス感染症患者に対する積極的疫学調査実施要領」"
            "（感染可能期間は発症2日前〔無症状病原体保有者は検体採取日の2日前〕から；"
            "行動歴は14日間）"
        ),
    ),
    self_reports=True,
    published=True,
    four_groups=True,
    certificate=True,
)

# 麻しん発生届 (5類感染症・全数把握, 直ちに届出; 感染症法第12条第1項).
_MEASLES_SYMPTOMATIC = frozenset(
    {"disease_type", "symptoms", "onset_date", "rash_date", "test_methods"}
)
_MEASLES_ALWAYS = ("diagnosis_date", "vaccine_1", "vaccine_2", "infection_area")

MEASLES_DISEASE = Disease(
    code=MEASLES,
    name=_("麻しん"),
    notice=_("5類感染症・全数把握（直ちに届出）"),
    categories=(
        CategorySpec(
            Category.PATIENT,
            _MEASLES_SYMPTOMATIC,
            (*_MEASLES_ALWAYS, "disease_type", "test_methods", "onset_date"),
        ),
        CategorySpec(
            Category.ASYMPTOMATIC,
            frozenset({"test_methods"}),
            (*_MEASLES_ALWAYS, "test_methods"),
            needs_laboratory=True,
        ),
        CategorySpec(
            Category.DEAD,
            _MEASLES_SYMPTOMATIC | {"death_date"},
            (*_MEASLES_ALWAYS, "disease_type", "test_methods", "death_date"),
        ),
    ),
    common=frozenset(
        {
            "occupation",
            "guardian",
            "first_visit_date",
            "diagnosis_date",
            "infection_date",
            "infection_route",
            "infection_area",
            "infection_country",
            "vaccine_1",
            "vaccine_1_date",
            "vaccine_1_age",
            "vaccine_2",
            "vaccine_2_date",
            "vaccine_2_age",
            "doctor_notes",
        }
    ),
    symptoms=(
        ("fever", _("発熱")),
        ("rash", _("発疹")),
        ("cough", _("咳")),
        ("runny_nose", _("鼻汁")),
        ("conjunctival", _("結膜充血")),
        ("koplik", _("コプリック斑")),
        ("pneumonia", _("肺炎")),
        ("otitis", _("中耳炎")),
        ("encephalitis", _("脳炎")),
        ("other", _("その他")),
    ),
    test_methods=(
        TestMethod("isolation", _("分離・同定による病原体の検出")),
        TestMethod("genome", _("PCR法・LAMP法等による病原体の遺伝子の検出")),
        TestMethod("igm", _("IgM抗体の検出")),
        TestMethod("paired_sera", _("ペア血清での抗体陽転又は抗体価の有意上昇")),
        TestMethod("clinical", _("臨床決定"), laboratory=False),
    ),
    # 国立感染症研究所「麻しん積極的疫学調査ガイドライン」: infectious from 1 day before the
    # onset (onset unknown: 5 days before the rash) to 4 days after the rash; the source is
    # sought in the incubation period, 21 days before the onset; a 接触者 shared the space
    # (same room or vehicle) in the infectious period. Local choices, where the guideline is
    # silent: with the onset unknown the 行動歴 starts 25 days before the rash (the onset
    # taken as 4 days before it, as the guideline's substitute implies); a carrier (no onset,
    # no rash) counts from day 0 (診断日).
    investigation=Investigation(
        infectious_from=(
            DayOffset("onset_date", -1, _("発病日の1日前")),
            DayOffset("rash_date", -5, _("発疹出現日の5日前")),
            DayOffset("day_zero", -5, _("起算日の5日前")),
        ),
        infectious_to=(
            DayOffset("rash_date", 4, _("発疹出現日の4日後")),
            DayOffset("day_zero", 4, _("起算日の4日後")),
        ),
        behaviour_from=(
            DayOffset("onset_date", -21, _("発病日の21日前")),
            DayOffset("rash_date", -25, _("発疹出現日の25日前")),
            DayOffset("day_zero", -21, _("起算日の21日前")),
        ),
        contact_kinds=(
            ContactKind.HOUSEHOLD,
            ContactKind.SHARED_SPACE,
            ContactKind.CARE_WITHOUT_PROTECTION,
        ),
        severity_by_spo2=False,
        source=(
            "国立感染症研究所「麻しん積極的疫学調査ガイドライン」（感染可能期間は発症1日前"
            "〔発症日不明の場合は発疹出現5日前〕から発疹出現後4日まで；感染源の調査は潜伏期間"
            "〔発症前21日間〕；接触者は感染可能期間に空間を共有した者）"
        ),
    ),
    disease_types=(
        DiseaseType("laboratory", _("麻しん（検査診断例）"), laboratory=True),
        DiseaseType(
            "clinical",
            _("麻しん（臨床診断例）"),
            laboratory=False,
            symptom_groups=(("fever",), ("rash",), ("cough", "runny_nose", "conjunctival")),
            criteria=_(
                "臨床診断例では、発熱・発疹・カタル症状（咳・鼻汁・結膜充血のいずれか）の"
                "すべてが必要です。"
            ),
        ),
        DiseaseType("modified", _("修飾麻しん（検査診断例）"), laboratory=True),
    ),
    # No report link is sent for 麻しん, so the address is only a way to reach the patient.
    labels=(("infection_route", _("感染原因・感染経路")), ("email", _("メールアドレス"))),
    symptom_dates=(("rash", "rash_date"),),
    day_zero_symptomatic=("rash_date", "onset_date"),
    day_zero_otherwise=("diagnosis_date",),
)

DISEASES: dict[str, Disease] = {d.code: d for d in (COVID, MEASLES_DISEASE)}
DISEASE_CHOICES: list[tuple[str, StrOrPromise]] = [(d.code, d.name) for d in DISEASES.values()]


def disease_get(code: str) -> Disease | None:
    return DISEASES.get(code)


def disease_codes(*, self_reports: bool | None = None, published: bool | None = None) -> list[str]:
    """Codes of the diseases with the given properties (None: either)."""
    return [
        d.code
        for d in DISEASES.values()
        if (self_reports is None or d.self_reports == self_reports)
        and (published is None or d.published == published)
    ]
