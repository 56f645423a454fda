"""Rules as data, each with the dates it is valid for.

End-of-observation rules (療養期間) and alert rules change by notice from the MHLW; a new rule
is a new row with ``valid_from``, never an edit of an old one, so past cases keep their dates.
The rule that applies to a case is its disease's rule in force on its day 0 (発病日 or
検体採取日 for COVID-19, 発疹出現日 for 麻しん); each rule names its source.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True, slots=True)
class ObservationRule:
    """Observation lasts ``days`` after day 0, and ``hours_after_improvement`` past recovery."""

    code: str
    symptomatic: bool
    valid_from: datetime.date
    valid_to: datetime.date | None  # exclusive
    days: int
    hours_after_improvement: int
    disease: str = "covid19"
    source: str = ""


_COVID_2022_01 = "厚生労働省 事務連絡（退院基準・療養解除基準）"
_COVID_2022_09 = "厚生労働省 事務連絡（令和4年9月7日からの療養期間の見直し）"
# 麻しん: the infectious period lasts until 4 days after the rash appears (国立感染症研究所
# 「麻しん発生時対応ガイドライン」: 発疹出現後4日間). Day 0 is the 発疹出現日; an asymptomatic
# carrier counts from the 診断日 under the same rule, as the period to watch for symptoms.
_MEASLES = "国立感染症研究所「麻しん発生時対応ガイドライン」（発疹出現後4日間）"

OBSERVATION_RULES: tuple[ObservationRule, ...] = (
    ObservationRule(
        "symptomatic-2022-01",
        True,
        datetime.date(2020, 1, 1),
        datetime.date(2022, 9, 7),
        10,
        72,
        source=_COVID_2022_01,
    ),
    ObservationRule(
        "symptomatic-2022-09", True, datetime.date(2022, 9, 7), None, 7, 24, source=_COVID_2022_09
    ),
    ObservationRule(
        "asymptomatic-2022-01",
        False,
        datetime.date(2020, 1, 1),
        datetime.date(2022, 9, 7),
        7,
        0,
        source=_COVID_2022_01,
    ),
    ObservationRule(
        "asymptomatic-2022-09", False, datetime.date(2022, 9, 7), None, 7, 0, source=_COVID_2022_09
    ),
    ObservationRule(
        "measles-rash-4days",
        True,
        datetime.date(2000, 1, 1),
        None,
        4,
        0,
        disease="measles",
        source=_MEASLES,
    ),
    ObservationRule(
        "measles-carrier-4days",
        False,
        datetime.date(2000, 1, 1),
        None,
        4,
        0,
        disease="measles",
        source=_MEASLES,
    ),
)


def observation_rule(
    *, symptomatic: bool, day_zero: datetime.date, disease: str = "covid19"
) -> ObservationRule:
    """The rule of ``disease`` in force on ``day_zero`` for symptomatic or asymptomatic cases."""
    for rule in OBSERVATION_RULES:
        if rule.disease != disease or rule.symptomatic != symptomatic:
            continue
        if day_zero < rule.valid_from:
            continue
        if rule.valid_to is None or day_zero < rule.valid_to:
            return rule
    raise LookupError(
        f"no observation rule for {disease} on {day_zero} (symptomatic={symptomatic})"
    )


def observation_last_day(
    *,
    symptomatic: bool,
    day_zero: datetime.date,
    improved_on: datetime.date | None = None,
    disease: str = "covid19",
) -> datetime.date:
    """The last day of observation: day 0 + N days, later if recovery came late.

    With 10 days + 72 h, onset on 1 August (day 0) ends on 11 August; when the symptoms
    improved only on 10 August, the 72 hours run to 13 August.
    """
    rule = observation_rule(symptomatic=symptomatic, day_zero=day_zero, disease=disease)
    last = day_zero + datetime.timedelta(days=rule.days)
    if improved_on is not None and rule.hours_after_improvement:
        last = max(last, improved_on + datetime.timedelta(hours=rule.hours_after_improvement))
    return last


@dataclass(frozen=True, slots=True)
class AlertRule:
    code: str
    label: StrOrPromise
    severity: int  # 1 is the most urgent
    valid_from: datetime.date
    spo2_at_most: int = 0
    fever_at_least: float = 0.0
    fever_days: int = 0
    deadline: datetime.time | None = None


ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule("urgent_sign", _("緊急性の高い症状"), 1, datetime.date(2020, 1, 1)),
    AlertRule("spo2_low", _("SpO2 93%以下"), 2, datetime.date(2020, 1, 1), spo2_at_most=93),
    AlertRule(
        "fever_3days",
        _("38.5℃以上が3日続く"),
        3,
        datetime.date(2020, 1, 1),
        fever_at_least=38.5,
        fever_days=3,
    ),
    AlertRule(
        "no_report",
        _("期限までに報告なし"),
        4,
        datetime.date(2020, 1, 1),
        deadline=datetime.time(10, 0),
    ),
)


def alert_rule(code: str, *, on: datetime.date) -> AlertRule | None:
    """The newest rule with ``code`` in force on ``on`` (None when there is none)."""
    rules = [r for r in ALERT_RULES if r.code == code and r.valid_from <= on]
    return max(rules, key=lambda r: r.valid_from) if rules else None


def alert_label(code: str) -> str:
    for rule in ALERT_RULES:
        if rule.code == code:
            return str(rule.label)
    return code


# 症状 on the COVID-19 notification form (the legal checklist, abridged); each disease's own
# list is in diseases.py.
SYMPTOMS: tuple[tuple[str, StrOrPromise], ...] = (
    ("fever", _("発熱")),
    ("cough", _("咳")),
    ("sore_throat", _("咽頭痛")),
    ("fatigue", _("全身倦怠感")),
    ("dyspnoea", _("呼吸困難")),
    ("pneumonia", _("肺炎像")),
    ("smell_taste", _("嗅覚・味覚障害")),
    ("diarrhoea", _("下痢")),
)

# Daily self-report items (yes / no / unknown).
REPORT_ITEMS: tuple[tuple[str, StrOrPromise], ...] = (
    ("complexion", _("表情・顔色の異常")),
    ("cough", _("咳・鼻水")),
    ("breathless", _("息苦しさ")),
    ("fatigue", _("全身倦怠感")),
    ("nausea", _("嘔気・嘔吐")),
    ("diarrhoea", _("下痢")),
    ("consciousness", _("意識障害")),
    ("eating", _("食事が取れない")),
    ("urination", _("排尿がない")),
)

# The MHLW's 13 urgent signs (緊急性の高い症状).
URGENT_SIGNS: tuple[tuple[str, StrOrPromise], ...] = (
    ("pale", _("顔色が明らかに悪い")),
    ("lips", _("唇が紫色になっている")),
    ("unusual", _("いつもと違う、様子がおかしい")),
    ("rapid_breath", _("息が荒くなった（呼吸数が多くなった）")),
    ("sudden_breathless", _("急に息苦しくなった")),
    ("breathless_moving", _("生活をしていて少し動くと息苦しい")),
    ("chest_pain", _("胸の痛みがある")),
    ("cannot_lie", _("横になれない。座らないと息ができない")),
    ("shoulder_breath", _("肩で息をしている")),
    ("wheeze", _("ゼーゼーしている")),
    ("dazed", _("ぼんやりしている（反応が弱い）")),
    ("unresponsive", _("もうろうとしている（返事がない）")),
    ("pulse", _("脈がとぶ、脈のリズムが乱れる感じがする")),
)

AGE_BANDS = (
    "10歳未満",
    "10代",
    "20代",
    "30代",
    "40代",
    "50代",
    "60代",
    "70代",
    "80代",
    "90歳以上",
)


def age_band(age: int) -> str:
    """The 陽性患者属性 age band: 10歳未満, 10代 … 80代, 90歳以上."""
    if age < 10:
        return AGE_BANDS[0]
    if age >= 90:
        return AGE_BANDS[-1]
    return f"{age // 10 * 10}代"


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    years = day.year - birth_date.year
    return years - ((day.month, day.day) < (birth_date.month, birth_date.day))
