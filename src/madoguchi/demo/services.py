"""Demo data: two municipalities of different size, their departments and staff of every role.

Loading is idempotent: a second run finds everything in place and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.demo import consultation_demo_load
from madoguchi.demo.contacts import contacts_demo_load
from madoguchi.messaging.demo import messaging_demo_load
from madoguchi.opendata.demo import opendata_demo_load
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.services import procedure_publish
from madoguchi.reports.demo import reports_demo_load
from madoguchi.reservations.demo import reservations_demo_load
from madoguchi.surveillance.demo import surveillance_demo_load
from madoguchi.tenants.models import Municipality, Role
from madoguchi.tenants.services import department_ensure, membership_grant, municipalities_load

DEMO_PASSWORD = "madoguchi-demo-2026"  # noqa: S105 - printed for the demo on purpose


@dataclass(frozen=True, slots=True)
class DemoMunicipality:
    code: str
    slug: str
    kana: str
    departments: tuple[tuple[str, str], ...]  # (code, name)
    staff_department: str  # where the supervisor, clerk and viewer work
    procedures: tuple[tuple[str, str], ...]  # (catalogue code, department code)


DEMO_MUNICIPALITIES = (
    DemoMunicipality(
        code="281000",
        slug="kobe",
        kana="コウベシ",
        departments=(
            ("shimin", "市民課"),
            ("kodomo", "こども家庭局 こども企画育成部"),
            ("kankyo", "環境局 事業系廃棄物対策部"),
            ("fukushi", "福祉局 くらし支援課"),
            ("kokuho", "健康局 国保年金医療課"),
            ("hokenjo", "健康局 保健所"),
            ("kensetsu", "建設局"),
        ),
        staff_department="fukushi",
        procedures=(
            ("teigaku-kyufukin", "fukushi"),
            ("jido-teate", "kodomo"),
            ("sodai-gomi", "kankyo"),
            ("juminhyo", "shimin"),
            ("tennyu-todoke", "shimin"),
            ("kokuho-kanyu", "kokuho"),
            ("tennyu-onestop", "shimin"),
        ),
    ),
    DemoMunicipality(
        code="285013",
        slug="sayo",
        kana="サヨウチョウ",
        departments=(
            ("jumin", "住民課"),
            ("kenko-fukushi", "健康福祉課"),
            ("kensetsu", "建設課"),
        ),
        staff_department="jumin",
        procedures=(
            ("teigaku-kyufukin", "kenko-fukushi"),
            ("jido-teate", "kenko-fukushi"),
            ("sodai-gomi", "jumin"),
            ("juminhyo", "jumin"),
            ("tennyu-todoke", "jumin"),
            ("kokuho-kanyu", "kenko-fukushi"),
            ("tennyu-onestop", "jumin"),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class DemoAccount:
    username: str
    municipality: str
    role: str
    department: str
    totp_secret: str  # base32, as an authenticator app takes it


def _demo_key(username: str) -> bytes:
    # Fixed per username so that every run prints the same secrets.
    return hashlib.sha256(f"madoguchi-demo-totp:{username}".encode()).digest()[:20]


def _ensure_totp(user: User) -> str:
    key = _demo_key(user.username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name="demo authenticator", key=key.hex(), confirmed=True
        )
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


OPERATOR_USERNAME = "operator"


def _ensure_operator() -> DemoAccount:
    """The platform operator (a superuser) who runs the deployment from /operator/."""
    user = User.objects.filter(username=OPERATOR_USERNAME).first()
    if user is None:
        user = staff_user_create(
            username=OPERATOR_USERNAME,
            password=DEMO_PASSWORD,
            display_name="運用管理者（デモ）",
            email="operator@example.jp",
        )
    if not (user.is_superuser and user.is_staff):
        user.is_superuser = user.is_staff = True
        user.save(update_fields=["is_superuser", "is_staff"])
    return DemoAccount(
        username=OPERATOR_USERNAME,
        municipality="",
        role="運用管理者",
        department="全団体",
        totp_secret=_ensure_totp(user),
    )


@transaction.atomic
def demo_load() -> list[DemoAccount]:
    """Create (or find) the demo municipalities, departments and staff; return the accounts."""
    actor = AuditActor(label="demo")
    accounts: list[DemoAccount] = [_ensure_operator()]
    municipalities_load(codes=[d.code for d in DEMO_MUNICIPALITIES], activate=True, actor=actor)
    for spec in DEMO_MUNICIPALITIES:
        muni = Municipality.objects.get(code=spec.code)
        if muni.slug != spec.slug or muni.name_kana != spec.kana:
            muni.slug, muni.name_kana = spec.slug, spec.kana
            muni.save(update_fields=["slug", "name_kana"])
        departments = {
            code: department_ensure(municipality=muni, code=code, name=name, actor=actor)
            for code, name in spec.departments
        }
        for code, department_code in spec.procedures:
            procedure_publish(
                municipality=muni,
                data={**catalogue_definition(code), "department": department_code},
                actor=actor,
            )
        for role in (Role.ADMIN, Role.SUPERVISOR, Role.CLERK, Role.VIEWER):
            username = f"{spec.slug}-{role.value}"
            user = User.objects.filter(username=username).first()
            if user is None:
                user = staff_user_create(
                    username=username,
                    password=DEMO_PASSWORD,
                    display_name=f"{muni.name} {role.label}（デモ）",
                    email=f"{username}@example.jp",
                )
            department = None if role == Role.ADMIN else departments[spec.staff_department]
            membership_grant(
                municipality=muni, user=user, role=role, department=department, actor=actor
            )
            accounts.append(
                DemoAccount(
                    username=username,
                    municipality=muni.slug,
                    role=str(role.label),
                    department=department.name if department else "自治体全体",
                    totp_secret=_ensure_totp(user),
                )
            )
    opendata_demo_load()
    # Tests load the demo often; they skip embedding every FAQ phrasing ahead of time.
    consultation_demo_load(warm_index=settings.ENVIRONMENT != "test")
    accounts.extend(DemoAccount(**a) for a in surveillance_demo_load(password=DEMO_PASSWORD))
    contacts_demo_load()
    reservations_demo_load()
    messaging_demo_load()
    reports_demo_load()
    return accounts
