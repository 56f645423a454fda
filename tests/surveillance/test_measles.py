"""麻しん notifications: 類型 and 病型, the 臨床診断例 rule, hidden items, dedup per disease, and
what does not apply to 麻しん (self-reports, publication, four groups, the certificate)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from madoguchi.surveillance.casework import case_care_update
from madoguchi.surveillance.certificate import certificate_refusal
from madoguchi.surveillance.diseases import DISEASES, disease_codes
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Alert, Case, Category, Notification, ReportLink
from madoguchi.surveillance.reports import alerts_raise_missing
from madoguchi.surveillance.rules import observation_last_day, observation_rule
from madoguchi.surveillance.selectors import daily_counts_by_age_band, not_reported
from madoguchi.surveillance.services import (
    NotificationInvalidError,
    report_link_issue,
    surveillance_setting_set,
)
from tests.isolation import snapshot
from tests.surveillance.factories import ACTOR, TODAY, World, adult, file, measles

D = datetime.date


def _refused(world: World, **changes: object) -> dict[str, str]:
    before = (snapshot(Case.objects.all()), snapshot(Notification.objects.all()))
    with pytest.raises(NotificationInvalidError) as info:
        file(world, measles(**changes))
    assert (snapshot(Case.objects.all()), snapshot(Notification.objects.all())) == before
    return {e.field: e.code for e in info.value.errors}


def test_the_registry_declares_both_diseases() -> None:
    assert list(DISEASES) == ["covid19", "measles"]
    covid, disease = DISEASES["covid19"], DISEASES["measles"]
    assert [c.category for c in disease.categories] == ["patient", "asymptomatic", "dead"]
    assert [t.code for t in disease.disease_types] == ["laboratory", "clinical", "modified"]
    assert [code for code, _label in disease.symptoms] == [
        "fever",
        "rash",
        "cough",
        "runny_nose",
        "conjunctival",
        "koplik",
        "pneumonia",
        "otitis",
        "encephalitis",
        "other",
    ]
    assert [(t.code, t.laboratory) for t in disease.test_methods] == [
        ("isolation", True),
        ("genome", True),
        ("igm", True),
        ("paired_sera", True),
        ("clinical", False),
    ]
    flags = ("self_reports", "published", "four_groups", "certificate")
    assert [getattr(covid, f) for f in flags] == [True, True, True, True]
    assert [getattr(disease, f) for f in flags] == [False, False, False, False]
    assert disease_codes(self_reports=True) == ["covid19"]
    assert disease_codes(published=True) == ["covid19"]


def test_the_registry_declares_each_investigation_with_its_source() -> None:
    covid = DISEASES["covid19"].investigation
    disease = DISEASES["measles"].investigation
    assert [(o.date, o.days) for o in covid.infectious_from] == [("day_zero", -2)]
    assert covid.infectious_to == ()
    assert [(o.date, o.days) for o in covid.behaviour_from] == [("day_zero", -14)]
    assert [(o.date, o.days) for o in disease.infectious_from] == [
        ("onset_date", -1),
        ("rash_date", -5),
        ("day_zero", -5),
    ]
    assert [(o.date, o.days) for o in disease.infectious_to] == [("rash_date", 4), ("day_zero", 4)]
    assert [(o.date, o.days) for o in disease.behaviour_from] == [
        ("onset_date", -21),
        ("rash_date", -25),
        ("day_zero", -21),
    ]
    assert covid.contact_kinds == (
        "household",
        "near_15_minutes",
        "care_without_protection",
        "body_fluids",
    )
    assert disease.contact_kinds == ("household", "shared_space", "care_without_protection")
    assert (covid.severity_by_spo2, disease.severity_by_spo2) == (True, False)
    assert "発症2日前" in covid.source
    assert "麻しん積極的疫学調査ガイドライン" in disease.source
    assert "発症1日前" in disease.source


def test_the_measles_rule_counts_four_days_from_the_rash() -> None:
    rule = observation_rule(symptomatic=True, day_zero=D(2026, 11, 18), disease="measles")
    assert (rule.code, rule.days, rule.hours_after_improvement) == ("measles-rash-4days", 4, 0)
    assert "発疹出現後4日間" in rule.source
    assert observation_last_day(
        symptomatic=True, day_zero=D(2026, 11, 18), improved_on=D(2026, 11, 25), disease="measles"
    ) == D(2026, 11, 22)
    # COVID-19 keeps its own rule.
    assert observation_rule(symptomatic=True, day_zero=D(2026, 11, 18)).code == (
        "symptomatic-2022-09"
    )


def test_a_laboratory_case_counts_from_the_rash_and_gets_no_report_link(
    world: World, django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        result = file(world, measles())
    case = Case.objects.get()
    assert result.created is True
    assert (case.disease, case.category, result.notification.disease) == (
        "measles",
        "patient",
        "measles",
    )
    assert (case.health_centre, case.age_band) == (world.kobe_centre, "10歳未満")
    assert (case.day_zero, case.observation_end) == (D(2026, 11, 18), D(2026, 11, 22))
    assert case.health["disease_type"] == "laboratory"
    assert case.health["rash_date"] == "2026-11-18"
    assert case.report_link is None
    assert mailoutbox == []
    assert ReportLink.objects.count() == 0
    items = result.notification.items
    assert items["test_methods"] == ["genome", "igm"]
    assert (items["vaccine_1"], items["vaccine_1_age"], items["vaccine_2"]) == ("yes", 1, "no")


@pytest.mark.parametrize(
    ("changes", "day_zero"),
    [
        ({"disease_type": "clinical", "test_methods": ("clinical",)}, D(2026, 11, 18)),
        ({"disease_type": "modified", "symptoms": ("fever", "rash")}, D(2026, 11, 18)),
        # 修飾麻しん may come without a rash: day 0 is then the onset.
        (
            {"disease_type": "modified", "symptoms": ("fever",), "rash_date": None},
            D(2026, 11, 15),
        ),
        (
            {
                "category": Category.ASYMPTOMATIC,
                "test_methods": ("igm",),
                "symptoms": (),
                "onset_date": None,
                "rash_date": None,
                "disease_type": "",
            },
            D(2026, 11, 19),
        ),
        ({"category": Category.DEAD, "death_date": D(2026, 11, 20)}, D(2026, 11, 18)),
    ],
)
def test_each_category_and_disease_type_is_filed(
    world: World, changes: dict[str, object], day_zero: datetime.date
) -> None:
    case = file(world, measles(**changes)).case
    assert case.day_zero == day_zero
    assert case.observation_end == day_zero + datetime.timedelta(days=4)


@pytest.mark.parametrize(
    "symptoms",
    [
        ("fever", "rash", "cough"),
        ("fever", "rash", "runny_nose"),
        ("fever", "rash", "conjunctival", "otitis"),
    ],
)
def test_a_clinical_diagnosis_with_fever_rash_and_a_catarrhal_sign(
    world: World, symptoms: tuple[str, ...]
) -> None:
    data = measles(disease_type="clinical", test_methods=("clinical",), symptoms=symptoms)
    assert file(world, data).case.health["disease_type"] == "clinical"


@pytest.mark.parametrize(
    "symptoms",
    [
        ("rash", "cough", "runny_nose"),  # no fever
        ("fever", "cough", "koplik"),  # no rash
        ("fever", "rash", "koplik", "pneumonia"),  # no catarrhal sign
    ],
)
def test_a_clinical_diagnosis_needs_all_three_signs(
    world: World, symptoms: tuple[str, ...]
) -> None:
    changes = {"disease_type": "clinical", "test_methods": ("clinical",), "symptoms": symptoms}
    assert _refused(world, **changes) == {"symptoms": ErrorCode.REQUIRED}
    with pytest.raises(NotificationInvalidError) as info:
        file(world, measles(**changes))
    [error] = info.value.errors
    assert error.message == (
        "臨床診断例では、発熱・発疹・カタル症状（咳・鼻汁・結膜充血のいずれか）のすべてが必要です。"
    )


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        (
            {"disease_type": "", "vaccine_1": "", "vaccine_2": "", "infection_area": ""},
            {
                "disease_type": ErrorCode.REQUIRED,
                "vaccine_1": ErrorCode.REQUIRED,
                "vaccine_2": ErrorCode.REQUIRED,
                "infection_area": ErrorCode.REQUIRED,
            },
        ),
        ({"test_methods": ()}, {"test_methods": ErrorCode.REQUIRED}),
        # A laboratory 病型 needs a test, not only 臨床決定.
        ({"test_methods": ("clinical",)}, {"test_methods": ErrorCode.REQUIRED}),
        (
            {
                "category": Category.ASYMPTOMATIC,
                "test_methods": ("clinical",),
                "symptoms": (),
                "onset_date": None,
            },
            {"test_methods": ErrorCode.REQUIRED},
        ),
        ({"rash_date": None}, {"rash_date": ErrorCode.REQUIRED}),
        ({"rash_date": D(2026, 11, 14)}, {"rash_date": ErrorCode.DATE_ORDER}),
        ({"rash_date": D(2026, 11, 21)}, {"rash_date": ErrorCode.DATE_FUTURE}),
        ({"first_visit_date": D(2026, 11, 20)}, {"first_visit_date": ErrorCode.DATE_ORDER}),
        ({"infection_date": D(2026, 11, 16)}, {"infection_date": ErrorCode.DATE_ORDER}),
        (
            {"category": Category.DEAD, "death_date": D(2026, 11, 17)},
            {"death_date": ErrorCode.DATE_ORDER},
        ),
        ({"category": Category.DEAD}, {"death_date": ErrorCode.REQUIRED}),
        ({"infection_area": "abroad"}, {"infection_country": ErrorCode.REQUIRED}),
        ({"vaccine_2_date": D(2025, 1, 1)}, {"vaccine_2_date": ErrorCode.OUT_OF_RANGE}),
        ({"vaccine_1_age": 130}, {"vaccine_1_age": ErrorCode.OUT_OF_RANGE}),
        ({"vaccine_1_date": D(2019, 3, 1)}, {"vaccine_1_date": ErrorCode.DATE_ORDER}),
        (
            {"vaccine_1_date": D(2024, 5, 1), "vaccine_2": "yes", "vaccine_2_date": D(2021, 5, 1)},
            {"vaccine_2_date": ErrorCode.DATE_ORDER},
        ),
        ({"disease_type": "suspected"}, {"disease_type": ErrorCode.OUT_OF_RANGE}),
        ({"symptoms": ("fever", "rash", "smell_taste")}, {"symptoms": ErrorCode.OUT_OF_RANGE}),
        ({"symptoms": ()}, {"symptoms": ErrorCode.REQUIRED}),
        ({"category": Category.SUSPECTED}, {"category": ErrorCode.REQUIRED}),
        ({"disease": "rubella"}, {"disease": ErrorCode.REQUIRED}),
    ],
)
def test_bad_measles_notifications_are_refused_whole(
    world: World, changes: dict[str, object], errors: dict[str, str]
) -> None:
    assert _refused(world, **changes) == errors


def test_items_the_category_does_not_show_are_ignored(world: World) -> None:
    """COVID-19 items on a 麻しん notification, and symptoms on a carrier's, are dropped."""
    result = file(
        world,
        measles(
            category=Category.ASYMPTOMATIC,
            test_methods=("genome",),
            vaccine_doses=99,  # out of range for COVID-19, not an item of 麻しん
            hospitalisation=True,
            test_method="antigen",
            specimen_date=D(2026, 11, 19),
            pregnant=True,
        ),
    )
    items = result.notification.items
    assert (items["symptoms"], items["onset_date"], items["rash_date"]) == ([], None, None)
    assert (items["disease_type"], items["vaccine_doses"], items["test_method"]) == ("", None, "")
    assert (items["hospitalisation"], items["pregnant"], items["specimen_date"]) == (
        False,
        False,
        None,
    )
    case = result.case
    assert (case.day_zero, case.observation_end) == (D(2026, 11, 19), D(2026, 11, 23))
    assert case.health["care_setting"] == "home"


def test_measles_items_on_a_covid_notification_are_ignored(world: World) -> None:
    result = file(world, adult(vaccine_1="perhaps", rash_date=D(2026, 11, 1), test_methods=("x",)))
    items = result.notification.items
    assert (items["vaccine_1"], items["rash_date"], items["test_methods"]) == ("", None, [])
    assert result.case.disease == "covid19"


def test_dedup_is_per_disease(world: World) -> None:
    """The same person with COVID-19 and with 麻しん has two cases; a second 麻しん notification
    (the 臨床診断例 confirmed by a test) links to the 麻しん case and updates its 病型."""
    person = {"birth_date": D(1990, 4, 1)}
    covid = file(world, adult())
    first = file(
        world,
        measles(
            **person,
            disease_type="clinical",
            test_methods=("clinical",),
            symptoms=("fever", "rash", "cough"),
        ),
    )
    assert first.created is True
    assert first.case.pk != covid.case.pk
    second = file(world, measles(**person, name="山田　太郎", phone="０９０１２３４５６７８"))
    assert (second.created, second.case.pk) == (False, first.case.pk)
    assert Case.objects.count() == 2
    assert sorted(Case.objects.values_list("disease", flat=True)) == ["covid19", "measles"]
    assert Notification.objects.filter(case=first.case).count() == 2
    assert Notification.objects.filter(case=covid.case).count() == 1
    assert Case.objects.get(pk=first.case.pk).health["disease_type"] == "laboratory"
    again = file(world, adult())
    assert (again.created, again.case.pk) == (False, covid.case.pk)


def test_a_measles_case_is_not_published(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from madoguchi.opendata.selectors import patient_rows

    with django_capture_on_commit_callbacks(execute=True):
        covid = file(world, adult()).case
        file(world, measles(name="麻疹 花子"))
    numbers = [row[0] for row in patient_rows(municipality=world.kobe.municipality)]
    assert numbers == [f"C{covid.pk}"]


def test_no_report_link_and_no_missing_report_alerts_for_measles(world: World) -> None:
    case = file(world, measles()).case
    with pytest.raises(SurveillanceError) as info:
        report_link_issue(cases=[case], actor=ACTOR)
    assert info.value.code == ErrorCode.NOT_FOR_DISEASE
    assert ReportLink.objects.count() == 0
    day = D(2026, 11, 20)
    assert alerts_raise_missing(municipality=world.kobe.municipality, day=day) == 0
    assert Alert.objects.count() == 0
    covid = file(world, adult()).case
    missing = not_reported(
        municipality=world.kobe.municipality, centres=[world.kobe_centre], day=day
    )
    assert list(missing) == [covid]


def test_the_four_groups_rule_and_the_age_band_counts_are_covid_only(world: World) -> None:
    surveillance_setting_set(
        municipality=world.kobe.municipality, four_groups_only=True, actor=ACTOR
    )
    case = file(world, measles(birth_date=D(1990, 4, 1))).case  # a low-risk adult
    assert case.disease == "measles"
    counts = daily_counts_by_age_band(
        municipality=world.kobe.municipality,
        day_from=TODAY - datetime.timedelta(days=1),
        day_to=datetime.date.today(),
    )
    assert counts == {}


def test_no_certificate_for_measles(world: World) -> None:
    case = file(world, measles()).case
    refusal = certificate_refusal(case=case, today=D(2026, 12, 31))
    assert refusal is not None
    assert refusal.code == ErrorCode.NOT_FOR_DISEASE
    assert refusal.message == "麻しんは就業制限の対象ではないため、療養証明書は発行しません。"


def test_no_spo2_severity_for_measles(world: World) -> None:
    case = file(world, measles()).case
    before = snapshot(Case.objects.all())
    with pytest.raises(SurveillanceError) as info:
        case_care_update(
            case=case,
            care_setting="hospital",
            care_from=None,
            severity="mild",
            improved_on=None,
            actor=ACTOR,
        )
    assert (info.value.code, info.value.field) == (ErrorCode.NOT_FOR_DISEASE, "severity")
    assert snapshot(Case.objects.all()) == before
    updated = case_care_update(
        case=case,
        care_setting="hospital",
        care_from=D(2026, 11, 19),
        severity="",
        improved_on=None,
        actor=ACTOR,
    )
    assert (updated.health["care_setting"], updated.observation_end) == (
        "hospital",
        D(2026, 11, 22),
    )
