"""Demo: Kobe's 保健所, 兵庫県's health centre covering 佐用町, a clinic, cases and reports.

24 COVID-19 cases with daily reports, and three 麻しん cases in Kobe (one per 病型). Deterministic
(seeded) and idempotent: when the demo clinic has notifications of a disease, that disease's
cases are left alone. Dates are relative to the day of loading, so the demo always has open work.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import random

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor
from madoguchi.surveillance.diseases import COVID19, MEASLES
from madoguchi.surveillance.models import Category, Clinic, Notification
from madoguchi.surveillance.notifications import NotificationInput
from madoguchi.surveillance.reports import report_link_issue, self_report_submit
from madoguchi.surveillance.services import notification_submit
from madoguchi.surveillance.setup import clinic_create, health_centre_ensure
from madoguchi.tenants.models import Department, Municipality, Role
from madoguchi.tenants.services import membership_grant, municipalities_load

__all__ = ["surveillance_demo_load"]

SURNAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("陽菜", "蓮", "結衣", "大翔", "美咲", "悠真", "葵", "湊", "さくら", "健一")
KANA = ("さとう", "すずき", "たかはし", "たなか", "いとう", "わたなべ", "やまもと", "なかむら")


def _totp(user: User) -> str:
    key = hashlib.sha256(f"madoguchi-demo-totp:{user.username}".encode()).digest()[:20]
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="demo", key=key.hex(), confirmed=True)
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def _staff(
    username: str, password: str, municipality: Municipality, department: Department
) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = staff_user_create(username=username, password=password, display_name=username)
    membership_grant(
        municipality=municipality,
        user=user,
        role=Role.CLERK,
        department=department,
        actor=AuditActor(label="demo"),
    )
    return user


def _account(user: User, muni: Municipality, role: str, department: str) -> dict[str, str]:
    return {
        "username": user.username,
        "municipality": muni.slug,
        "role": role,
        "department": department,
        "totp_secret": _totp(user),
    }


@transaction.atomic
def surveillance_demo_load(*, password: str) -> list[dict[str, str]]:
    """Set up the demo health centres, clinic and nurses (idempotent); return their logins."""
    actor = AuditActor(label="demo")
    [kobe, hyogo] = municipalities_load(codes=["281000", "280003"], activate=True, actor=actor)
    if hyogo.slug != "hyogo":
        hyogo.slug = "hyogo"
        hyogo.save(update_fields=["slug"])
    kobe_centre = health_centre_ensure(
        municipality=kobe,
        department_code="hokenjo",
        name="健康局 保健所",
        urgent_phone="",  # the demo's contact point urgent_health (madoguchi.demo.contacts)
        area_codes=["281000"],
        actor=actor,
    )
    hyogo_centre = health_centre_ensure(
        municipality=hyogo,
        department_code="tatsuno-hc",
        name="龍野健康福祉事務所（保健所）",
        urgent_phone="",
        area_codes=["285013"],
        actor=actor,
    )
    clinic = Clinic.objects.filter(user__username="kobe-clinic").first()
    if clinic is None:
        clinic = clinic_create(
            health_centre=kobe_centre,
            username="kobe-clinic",
            password=password,
            name="みなと内科クリニック（デモ）",
            address="神戸市中央区",
            phone="078-555-0190",
            doctor_name="港 一郎",
            actor=actor,
        )
    kobe_nurse = _staff("kobe-nurse", password, kobe, kobe_centre.department)
    hyogo_nurse = _staff("hyogo-nurse", password, hyogo, hyogo_centre.department)
    if not Notification.objects.filter(clinic=clinic, disease=COVID19).exists():
        _cases(clinic, actor)
    if not Notification.objects.filter(clinic=clinic, disease=MEASLES).exists():
        _measles_cases(clinic, actor)
    return [
        _account(clinic.user, kobe, "医療機関", clinic.name),
        _account(kobe_nurse, kobe, "担当者", kobe_centre.name),
        _account(hyogo_nurse, hyogo, "担当者", hyogo_centre.name),
    ]


def _cases(clinic: Clinic, actor: AuditActor) -> None:
    rng = random.Random(2022)  # noqa: S311 - demo data, not security
    today = timezone.localdate()
    for index in range(24):
        diagnosed = today - datetime.timedelta(days=rng.randrange(0, 21))
        symptomatic = rng.random() < 0.8
        sayo = index % 6 == 5
        data = NotificationInput(
            category=Category.PATIENT if symptomatic else Category.ASYMPTOMATIC,
            name=f"{SURNAMES[index % 10]} {GIVEN[(index * 3) % 10]}",
            name_kana=f"{KANA[index % 8]} でも",
            sex=rng.choice(("male", "female")),
            birth_date=datetime.date(rng.randrange(1940, 2020), rng.randrange(1, 13), 15),
            address="佐用郡佐用町佐用" if sayo else "神戸市中央区加納町",
            residence_code="285013" if sayo else "281000",
            phone=f"090-0000-{index:04d}",
            symptoms=("fever", "cough") if symptomatic else (),
            test_method="antigen",
            specimen="nasal",
            test_result="positive",
            diagnosis_date=diagnosed,
            specimen_date=diagnosed,
            onset_date=diagnosed - datetime.timedelta(days=1) if symptomatic else None,
        )
        case = notification_submit(clinic=clinic, data=data, actor=actor, today=diagnosed).case
        report_link_issue(cases=[case], actor=actor)
        assert case.report_link is not None
        day = case.day_zero + datetime.timedelta(days=1)
        fever = index % 7 == 3
        while day <= min(today, case.observation_end):
            if day == today and index % 4 == 1:
                break  # some have not reported yet this morning
            temperature = "38.7" if fever else f"{rng.uniform(36.2, 37.4):.1f}"
            self_report_submit(
                link=case.report_link,
                case=case,
                day=day,
                values={"temperature": temperature, "spo2": str(rng.randrange(92, 100))},
                urgent_signs=["breathless_moving"] if index == 2 and day == today else [],
            )
            day += datetime.timedelta(days=1)


def _measles_cases(clinic: Clinic, actor: AuditActor) -> None:
    """Three 麻しん cases in Kobe: 検査診断例, 臨床診断例 and 修飾麻しん (no report links)."""
    today = timezone.localdate()
    cases = (
        # (name, kana, birth date, 病型, symptoms, tests, days before today the rash appeared)
        ("長田 悠真", "ながた ゆうま", datetime.date(2019, 6, 10), "laboratory",
         ("fever", "rash", "cough", "koplik"), ("genome", "igm"), 2),
        ("灘 美咲", "なだ みさき", datetime.date(1996, 2, 20), "clinical",
         ("fever", "rash", "runny_nose", "conjunctival"), ("clinical",), 1),
        ("垂水 健一", "たるみ けんいち", datetime.date(1988, 11, 3), "modified",
         ("fever", "rash"), ("genome",), 6),
    )  # fmt: skip
    for index, (name, kana, born, kind, symptoms, tests, days) in enumerate(cases):
        rash = today - datetime.timedelta(days=days)
        vaccinated = "yes" if kind == "modified" else "unknown"
        data = NotificationInput(
            disease=MEASLES,
            category=Category.PATIENT,
            disease_type=kind,
            name=name,
            name_kana=kana,
            sex="male" if index != 1 else "female",
            birth_date=born,
            address="神戸市中央区加納町",
            residence_code="281000",
            phone=f"090-0001-{index:04d}",
            symptoms=symptoms,
            test_methods=tests,
            onset_date=rash - datetime.timedelta(days=3),
            rash_date=rash,
            first_visit_date=rash,
            diagnosis_date=rash,
            infection_area="abroad" if index == 0 else "domestic",
            infection_country="ベトナム" if index == 0 else "",
            vaccine_1=vaccinated,
            vaccine_1_age=1 if kind == "modified" else None,
            vaccine_2="no" if kind == "modified" else "unknown",
        )
        notification_submit(clinic=clinic, data=data, actor=actor, today=rash)
