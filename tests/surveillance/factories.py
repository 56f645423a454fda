"""Health centres, a clinic, nurses and notifications for the surveillance tests."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any

from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor
from madoguchi.surveillance.models import Category, Clinic, HealthCentre
from madoguchi.surveillance.notifications import NotificationInput
from madoguchi.surveillance.services import NotificationResult, notification_submit
from madoguchi.surveillance.setup import clinic_create, health_centre_ensure
from madoguchi.tenants.models import Municipality, Role
from madoguchi.tenants.services import membership_grant, municipalities_load
from tests.isolation import PASSWORD, Tenant

ACTOR = AuditActor(label="test")
TODAY = datetime.date(2026, 11, 20)


@dataclass
class World:
    kobe: Tenant
    sayo: Tenant
    hyogo: Municipality
    kobe_centre: HealthCentre
    hyogo_centre: HealthCentre
    clinic: Clinic
    nurse: User  # a clerk of Kobe's health centre
    hyogo_nurse: User


def make_world(tenant_a: Tenant, tenant_b: Tenant) -> World:
    """Kobe's 保健所 (covering Kobe) and Hyogo's covering 佐用町, with a Kobe clinic."""
    [hyogo] = municipalities_load(codes=["280003"], activate=True, actor=ACTOR)
    kobe_centre = health_centre_ensure(
        municipality=tenant_a.municipality,
        department_code="hokenjo",
        name="神戸市保健所",
        urgent_phone="078-000-0000",
        area_codes=["281000"],
        actor=ACTOR,
    )
    hyogo_centre = health_centre_ensure(
        municipality=hyogo,
        department_code="tatsuno-hc",
        name="龍野健康福祉事務所",
        urgent_phone="0791-00-0000",
        area_codes=["285013"],
        actor=ACTOR,
    )
    clinic = clinic_create(
        health_centre=kobe_centre,
        username="kobe-clinic",
        password=PASSWORD,
        name="みなとクリニック",
        address="神戸市中央区",
        phone="078-111-1111",
        doctor_name="医師 一郎",
        actor=ACTOR,
    )
    nurse = staff_user_create(username="kobe-nurse", password=PASSWORD)
    membership_grant(
        municipality=tenant_a.municipality,
        user=nurse,
        role=Role.CLERK,
        department=kobe_centre.department,
        actor=ACTOR,
    )
    hyogo_nurse = staff_user_create(username="hyogo-nurse", password=PASSWORD)
    membership_grant(
        municipality=hyogo,
        user=hyogo_nurse,
        role=Role.CLERK,
        department=hyogo_centre.department,
        actor=ACTOR,
    )
    return World(tenant_a, tenant_b, hyogo, kobe_centre, hyogo_centre, clinic, nurse, hyogo_nurse)


def adult(**changes: Any) -> NotificationInput:
    """A low-risk adult 患者（確定例） living in Kobe, onset 3 days before diagnosis."""
    base = NotificationInput(
        category=Category.PATIENT,
        name="山田 太郎",
        name_kana="やまだ たろう",
        sex="male",
        birth_date=datetime.date(1990, 4, 1),
        address="神戸市中央区加納町6-5-1",
        residence_code="281000",
        phone="090-1234-5678",
        email="taro@example.jp",
        symptoms=("fever", "cough"),
        test_method="antigen",
        specimen="nasal",
        test_result="positive",
        diagnosis_date=datetime.date(2026, 11, 19),
        onset_date=datetime.date(2026, 11, 17),
        specimen_date=datetime.date(2026, 11, 19),
    )
    return replace(base, **changes)


def measles(**changes: Any) -> NotificationInput:
    """A child with 麻しん（検査診断例）: rash on 11-18 (day 0), onset 3 days before, PCR, IgM."""
    base = NotificationInput(
        disease="measles",
        category=Category.PATIENT,
        disease_type="laboratory",
        name="山田 太郎",
        name_kana="やまだ たろう",
        sex="male",
        birth_date=datetime.date(2019, 4, 1),
        address="神戸市中央区加納町6-5-1",
        residence_code="281000",
        phone="090-1234-5678",
        email="taro@example.jp",
        guardian="山田 一郎",
        symptoms=("fever", "rash", "cough", "koplik"),
        test_methods=("genome", "igm"),
        first_visit_date=datetime.date(2026, 11, 18),
        diagnosis_date=datetime.date(2026, 11, 19),
        onset_date=datetime.date(2026, 11, 15),
        rash_date=datetime.date(2026, 11, 18),
        infection_area="domestic",
        vaccine_1="yes",
        vaccine_1_age=1,
        vaccine_2="no",
    )
    return replace(base, **changes)


def recent(**changes: Any) -> NotificationInput:
    """Like :func:`adult`, diagnosed today (by the real clock), so its link is still live."""
    today = timezone.localdate()
    base = adult(
        diagnosis_date=today,
        specimen_date=today,
        onset_date=today - datetime.timedelta(days=1),
    )
    return replace(base, **changes)


def file(world: World, data: NotificationInput, *, real_today: bool = False) -> NotificationResult:
    today = timezone.localdate() if real_today else TODAY
    return notification_submit(clinic=world.clinic, data=data, actor=ACTOR, today=today)
