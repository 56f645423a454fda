"""A clinic files a 発生届; a patient reports for self and child; the nurse sees the alert."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from pytest_django.live_server_helper import LiveServer

from madoguchi.accounts.models import User
from madoguchi.surveillance.models import Case, SelfReport
from madoguchi.surveillance.rules import REPORT_ITEMS
from madoguchi.surveillance.services import report_link_issue
from tests.isolation import PASSWORD, Tenant
from tests.surveillance.factories import ACTOR, file, make_world, recent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page: object, base: str, user: User, next_path: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{base}{next_path}")
    page.get_by_label("ユーザー名").fill(user.username)
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="次へ").click()
    page.get_by_label("確認コード（6桁）").fill(f"{TOTP(device.bin_key).token():06d}")
    page.get_by_role("button", name="サインイン").click()


def test_clinic_files_a_low_risk_adult_in_under_20_fields(
    live_server: LiveServer, tenant_a: Tenant, tenant_b: Tenant, page: object
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    world = make_world(tenant_a, tenant_b)
    _sign_in(page, live_server.url, world.clinic.user, "/kobe/health/clinic/")
    today = timezone.localdate()
    page.get_by_role("link", name="患者（確定例）").click()
    values = {
        "name": "須磨 花子",
        "name_kana": "すま はなこ",
        "birth_date": "1985-03-03",
        "address": "神戸市須磨区1-1",
        "residence": "神戸市須磨区",
        "phone": "090-5555-6666",
        "diagnosis_date": today.isoformat(),
        "onset_date": (today - datetime.timedelta(days=1)).isoformat(),
        "specimen_date": today.isoformat(),
    }
    for name, value in values.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.locator('[name="sex"][value="female"]').check()
    page.locator('[name="test_method"]').select_option("antigen")
    page.get_by_label("発熱").check()
    touched = len(values) + 3 + 1  # three choices and the 類型 link
    assert touched < 20
    page.get_by_role("button", name="届け出る").click()
    expect(page.locator("#notification-result")).to_have_text("新しい患者として登録しました。")
    assert Case.objects.get().health_centre == world.kobe_centre


def test_patient_reports_for_self_and_child_and_the_nurse_sees_the_alert(
    live_server: LiveServer, tenant_a: Tenant, tenant_b: Tenant, chromium: object
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    world = make_world(tenant_a, tenant_b)
    parent = file(world, recent(), real_today=True).case
    child = file(
        world, recent(name="山田 花", birth_date=datetime.date(2019, 5, 5)), real_today=True
    ).case
    token = report_link_issue(cases=[parent, child], actor=ACTOR)
    base = live_server.url

    patient = chromium.new_context(
        locale="ja-JP", viewport={"width": 390, "height": 844}
    ).new_page()
    patient.set_default_timeout(10_000)
    patient.goto(f"{base}/kobe/health/report/{token}/")
    patient.locator('[name="temperature"]').fill("3650")
    patient.locator('[name="spo2"]').fill("97")
    patient.get_by_role("button", name="報告する").click()
    expect(patient.locator(".error-summary")).to_contain_text("体温は 36.5 のように")
    expect(patient.locator(".error-summary")).to_contain_text(
        "息苦しさ：はい・いいえ・わからないのどれかを選んでください。"
    )
    expect(patient.locator('[name="spo2"]')).to_have_value("97")
    patient.locator('[name="temperature"]').fill("369")
    for key, _label in REPORT_ITEMS:
        patient.locator(f'[name="{key}"][value="no"]').check()
    patient.get_by_role("button", name="報告する").click()
    expect(patient.locator("#report-result")).to_contain_text("山田 太郎 さんの今日の報告")
    expect(patient.locator("#report-temperature")).to_contain_text("36.9℃")
    patient.get_by_role("link", name="山田 花 さんの報告をする").click()
    patient.locator('[name="temperature"]').fill("38.2")
    patient.get_by_label("唇が紫色になっている").check()
    patient.get_by_role("button", name="報告する").click()
    expect(patient.locator("#urgent-phone")).to_have_text("078-000-0000")
    assert sorted(SelfReport.objects.values_list("case_id", flat=True)) == [parent.pk, child.pk]

    nurse = chromium.new_context(locale="ja-JP").new_page()
    nurse.set_default_timeout(10_000)
    _sign_in(nurse, base, world.nurse, "/kobe/health/worklist/")
    expect(nurse.locator("#alerts")).to_contain_text("緊急性の高い症状")
    expect(nurse.locator("#alerts")).to_contain_text("山田 花")


def test_clinic_files_a_clinical_measles_case_after_one_refusal(
    live_server: LiveServer, tenant_a: Tenant, tenant_b: Tenant, page: object
) -> None:
    """麻しん（臨床診断例）needs fever, rash and a catarrhal sign; the refusal keeps the input."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    world = make_world(tenant_a, tenant_b)
    _sign_in(page, live_server.url, world.clinic.user, "/kobe/health/clinic/")
    today = timezone.localdate()
    page.get_by_role("link", name="麻しん").click()
    expect(page.locator("h1")).to_have_text("発生届（麻しん）")
    page.get_by_role("link", name="患者（確定例）").click()
    values = {
        "name": "灘 美咲",
        "name_kana": "なだ みさき",
        "birth_date": "1996-02-20",
        "address": "神戸市灘区1-1",
        "residence": "281000",
        "diagnosis_date": today.isoformat(),
        "onset_date": (today - datetime.timedelta(days=4)).isoformat(),
        "rash_date": (today - datetime.timedelta(days=1)).isoformat(),
    }
    for name, value in values.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.locator('[name="sex"][value="female"]').check()
    page.get_by_label("麻しん（臨床診断例）").check()
    page.get_by_label("発熱").check()
    page.get_by_label("発疹", exact=True).check()
    page.get_by_label("臨床決定").check()
    page.locator('[name="infection_area"][value="domestic"]').check()
    page.locator('[name="vaccine_1"][value="unknown"]').check()
    page.locator('[name="vaccine_2"][value="unknown"]').check()
    page.get_by_role("button", name="届け出る").click()
    expect(page.locator(".error-summary")).to_contain_text("カタル症状")
    assert Case.objects.count() == 0
    page.get_by_label("結膜充血").check()
    page.get_by_role("button", name="届け出る").click()
    expect(page.locator("#notification-result")).to_have_text("新しい患者として登録しました。")
    case = Case.objects.get()
    assert (case.disease, case.health["disease_type"]) == ("measles", "clinical")
    assert case.report_link is None
