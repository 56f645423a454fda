"""Pages: the clinic form, the health-centre pages with isolation and audit, the self-report."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.surveillance.models import Alert, Case, Notification, SelfReport
from madoguchi.surveillance.rules import REPORT_ITEMS
from madoguchi.surveillance.services import report_link_issue
from tests.isolation import assert_cannot_change, assert_cannot_read, signed_in_client, snapshot
from tests.surveillance.factories import ACTOR, World, adult, file, recent

FORM = {
    "name": "神戸 一美",
    "name_kana": "こうべ かずみ",
    "sex": "female",
    "birth_date": "1988-06-01",
    "address": "神戸市中央区1-1",
    "residence_code": "281000",
    "phone": "078-222-3333",
    "symptoms": ["fever"],
    "test_method": "antigen",
    "diagnosis_date": "2026-11-19",
    "onset_date": "2026-11-18",
    "specimen_date": "2026-11-19",
}


def _clinic(world: World) -> Client:
    return signed_in_client(world.clinic.user)


def test_clinic_files_a_notification(world: World) -> None:
    client = _clinic(world)
    response = client.post(world.kobe.url("health/clinic/new/patient/"), FORM)
    assert response.status_code == 200
    assert "新しい患者として登録しました。" in response.content.decode()
    case = Case.objects.get()
    assert (case.name, case.health_centre) == ("神戸 一美", world.kobe_centre)
    home = client.get(world.kobe.url("health/clinic/")).content.decode()
    assert str(Notification.objects.get().pk) in home


def test_form_shows_only_what_the_category_needs(world: World) -> None:
    client = _clinic(world)
    asymptomatic = client.get(world.kobe.url("health/clinic/new/asymptomatic/")).content.decode()
    assert 'name="onset_date"' not in asymptomatic
    assert 'name="death_date"' not in asymptomatic
    assert 'name="specimen_date"' in asymptomatic
    dead = client.get(world.kobe.url("health/clinic/new/dead/")).content.decode()
    assert 'name="death_date"' in dead


def test_impossible_dates_get_a_japanese_message_and_store_nothing(world: World) -> None:
    response = _clinic(world).post(
        world.kobe.url("health/clinic/new/patient/"), {**FORM, "onset_date": "2026-11-20"}
    )
    assert response.status_code == 400
    assert "発病年月日が診断年月日より後になっています。" in response.content.decode()
    assert Case.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [{"birth_date": "昭和"}, {"vaccine_doses": "x"}, {"symptoms": ["nope"]}, {"name": "x" * 500}],
)
def test_garbage_is_a_400_not_a_500(world: World, data: dict[str, Any]) -> None:
    response = _clinic(world).post(world.kobe.url("health/clinic/new/patient/"), {**FORM, **data})
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_unknown_category_is_a_404(world: World) -> None:
    assert _clinic(world).get(world.kobe.url("health/clinic/new/other/")).status_code == 404


def test_clinic_cannot_see_cases_and_staff_cannot_file(world: World) -> None:
    file(world, adult())
    assert_cannot_read(_clinic(world), world.kobe.url("health/cases/"), must_not_contain=["山田"])
    assert_cannot_read(_clinic(world), world.kobe.url("health/worklist/"))
    nurse = signed_in_client(world.nurse)
    assert_cannot_change(
        nurse,
        world.kobe.url("health/clinic/new/patient/"),
        data=FORM,
        state=lambda: snapshot(Case.objects.all()),
    )


def test_staff_outside_the_health_centre_are_refused(world: World) -> None:
    file(world, adult())
    case = Case.objects.get()
    welfare = world.kobe.client("clerk")
    assert_cannot_read(welfare, world.kobe.url("health/cases/"), must_not_contain=["山田"])
    assert_cannot_read(
        welfare, world.kobe.url(f"health/cases/{case.pk}/"), must_not_contain=["山田"]
    )


def test_a_health_centre_never_sees_another_bodys_cases(world: World) -> None:
    """Kobe's nurse cannot see Hyogo's case of a Sayo resident; Sayo's staff see no case at all."""
    file(world, adult(residence_code="285013", name="佐用 次郎"))
    case = Case.objects.get()
    kobe = signed_in_client(world.nurse)
    assert "佐用 次郎" not in kobe.get(world.kobe.url("health/cases/")).content.decode()
    assert_cannot_read(
        kobe, world.kobe.url(f"health/cases/{case.pk}/"), must_not_contain=["佐用 次郎"]
    )
    assert_cannot_read(kobe, f"/{world.hyogo.slug}/health/cases/{case.pk}/")
    sayo = world.sayo.client("admin")
    assert_cannot_read(sayo, world.sayo.url("health/cases/"), must_not_contain=["佐用 次郎"])
    hyogo = signed_in_client(world.hyogo_nurse)
    page = hyogo.get(f"/{world.hyogo.slug}/health/cases/{case.pk}/")
    assert page.status_code == 200
    assert "佐用 次郎" in page.content.decode()


def test_every_view_of_a_case_is_audited(world: World) -> None:
    case = file(world, adult()).case
    nurse = signed_in_client(world.nurse)
    assert nurse.get(world.kobe.url(f"health/cases/{case.pk}/")).status_code == 200
    entry = AuditEntry.objects.get(kind=EntryKind.ACCESS, object_id=str(case.pk))
    assert (entry.actor_id, entry.object_type, entry.chain) == (
        world.nurse.pk,
        "surveillance.case",
        "281000",
    )


def test_acknowledge_without_a_note_is_refused_on_the_page(world: World) -> None:
    case = file(world, adult()).case
    alert = Alert.objects.create(
        municipality=case.municipality,
        case=case,
        rule_code="urgent_sign",
        severity=1,
        day=datetime.date(2026, 11, 20),
    )
    nurse = signed_in_client(world.nurse)
    url = world.kobe.url(f"health/cases/{case.pk}/")
    response = nurse.post(url, {"action": "acknowledge", "alert": alert.pk, "note": ""})
    assert response.status_code == 400
    assert "対応の内容を記録してください。" in response.content.decode()
    response = nurse.post(url, {"action": "acknowledge", "alert": alert.pk, "note": "電話済み"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.nurse


def test_self_report_for_a_child_and_the_urgent_page(world: World) -> None:
    parent = file(world, recent(), real_today=True).case
    child = file(
        world, recent(name="山田 花", birth_date=datetime.date(2020, 5, 5)), real_today=True
    ).case
    token = report_link_issue(cases=[parent, child], actor=ACTOR)
    url = world.kobe.url(f"health/report/{token}/")
    client = Client()
    page = client.get(f"{url}?person={child.pk}").content.decode()
    assert "山田 花 さんの報告" in page
    answers = {key: "no" for key, _label in REPORT_ITEMS}
    bad = client.post(url, {"person": child.pk, "temperature": "3650", **answers})
    assert bad.status_code == 400
    assert "体温は 36.5 のように" in bad.content.decode()
    urgent = client.post(
        url, {"person": child.pk, "temperature": "37.0", "urgent_signs": ["lips"], **answers}
    )
    assert urgent.status_code == 200
    body = urgent.content.decode()
    assert "今すぐお電話ください" in body
    assert "078-000-0000" in body
    assert SelfReport.objects.get().case == child
    assert Alert.objects.get().rule_code == "urgent_sign"


def test_expired_or_foreign_tokens_get_a_japanese_page(world: World) -> None:
    case = file(
        world,
        adult(
            onset_date=datetime.date(2026, 1, 1),
            diagnosis_date=datetime.date(2026, 1, 2),
            specimen_date=datetime.date(2026, 1, 2),
        ),
    ).case
    expired = report_link_issue(cases=[case], actor=ACTOR)
    response = Client().get(world.kobe.url(f"health/report/{expired}/"))
    assert response.status_code == 410
    assert "有効期限が切れています" in response.content.decode()
    live_case = file(world, recent(name="有効 三郎"), real_today=True).case
    live = report_link_issue(cases=[live_case], actor=ACTOR)
    foreign = Client().get(world.sayo.url(f"health/report/{live}/"))
    assert foreign.status_code == 404
    assert "このリンクは使えません。" in foreign.content.decode()
    assert Client().get(world.kobe.url(f"health/report/{live}/")).status_code == 200


def test_a_clinic_sees_only_its_own_notifications(world: World) -> None:
    from madoguchi.surveillance.setup import clinic_create

    other = clinic_create(
        health_centre=world.kobe_centre,
        username="other-clinic",
        password="another password 2026",
        name="やま医院",
        address="神戸市北区",
        phone="078-999-9999",
        doctor_name="山 次郎",
        actor=ACTOR,
    )
    notification = file(world, adult()).notification
    mine = _clinic(world).get(world.kobe.url("health/clinic/")).content.decode()
    theirs = signed_in_client(other.user).get(world.kobe.url("health/clinic/")).content.decode()
    assert f"<td>{notification.pk}</td>" in mine
    assert f"<td>{notification.pk}</td>" not in theirs
    assert "まだ届出はありません。" in theirs


def test_only_the_bodys_admin_switches_the_four_groups_rule(world: World) -> None:
    from madoguchi.surveillance.models import SurveillanceSetting

    url = world.kobe.url("health/counts/")
    assert_cannot_change(
        signed_in_client(world.nurse),
        url,
        data={"four_groups_only": "1"},
        state=lambda: snapshot(SurveillanceSetting.objects.all()),
    )
    admin = world.kobe.client("admin")
    assert admin.post(url, {"four_groups_only": "1"}).status_code == 302
    assert "発生届は4類型（65歳以上" in admin.get(url).content.decode()
    assert SurveillanceSetting.objects.get().four_groups_only is True
    assert_cannot_read(world.sayo.client("admin"), world.sayo.url("health/counts/"))


def test_the_patient_sees_who_looked(world: World) -> None:
    case = file(world, recent(), real_today=True).case
    token = report_link_issue(cases=[case], actor=ACTOR)
    url = world.kobe.url(f"health/report/{token}/")
    assert "まだ記録はありません。" in Client().get(url).content.decode()
    signed_in_client(world.nurse).get(world.kobe.url(f"health/cases/{case.pk}/"))
    page = Client().get(url).content.decode()
    assert "神戸市保健所（積極的疫学調査・健康観察）" in page
    assert "kobe-nurse" not in page


def test_a_clinic_account_is_not_a_member_of_the_health_centre_department(world: World) -> None:
    from madoguchi.tenants.models import Membership

    [membership] = Membership.objects.filter(user=world.clinic.user)
    assert membership.department is not None
    assert (membership.role, membership.department.code) == ("viewer", "hokenjo-clinics")
    assert membership.department != world.kobe_centre.department


def test_only_the_bodys_admin_switches_publishing_sex(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """The switch is audited; cases published after it carry 性別, and switching off clears it."""
    from madoguchi.opendata.selectors import patient_rows
    from madoguchi.surveillance.models import SurveillanceSetting

    with django_capture_on_commit_callbacks(execute=True):
        first = file(world, adult()).case
    url = world.kobe.url("health/counts/")
    assert_cannot_change(
        signed_in_client(world.nurse),
        url,
        data={"publish_sex": "1"},
        state=lambda: snapshot(SurveillanceSetting.objects.all()),
    )
    admin = world.kobe.client("admin")
    assert "性別は公表していません" in admin.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url, {"publish_sex": "1"}).status_code == 302
    setting = SurveillanceSetting.objects.get()
    assert (setting.publish_sex, setting.four_groups_only) == (True, False)
    assert "性別を公表しています" in admin.get(url).content.decode()
    event = AuditEntry.objects.get(action="surveillance.publish_sex_set")
    assert (event.actor_id, event.data) == (world.kobe.staff["admin"].pk, {"publish_sex": True})
    with django_capture_on_commit_callbacks(execute=True):
        second = file(world, adult(name="神戸 花子", sex="female", phone="090-0000-0002")).case
    rows = {row[0]: row[5] for row in patient_rows(municipality=world.kobe.municipality)}
    assert rows == {f"C{first.pk}": "男性", f"C{second.pk}": "女性"}
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url, {"publish_sex": "0"}).status_code == 302
    assert SurveillanceSetting.objects.get().publish_sex is False
    rows = {row[0]: row[5] for row in patient_rows(municipality=world.kobe.municipality)}
    assert rows == {f"C{first.pk}": "", f"C{second.pk}": ""}


def test_the_publish_sex_switch_leaves_the_four_groups_rule_alone(world: World) -> None:
    from madoguchi.surveillance.models import SurveillanceSetting

    admin = world.kobe.client("admin")
    url = world.kobe.url("health/counts/")
    admin.post(url, {"four_groups_only": "1"})
    admin.post(url, {"publish_sex": "1"})
    setting = SurveillanceSetting.objects.get()
    assert (setting.four_groups_only, setting.publish_sex) == (True, True)


def test_the_console_links_to_the_health_centre_pages_for_its_staff_only(world: World) -> None:
    links = ("health/cases/", "health/worklist/", "health/counts/")
    console = world.kobe.url("staff/")
    for client in (signed_in_client(world.nurse), world.kobe.client("admin")):
        page = client.get(console).content.decode()
        for link in links:
            assert f'href="{world.kobe.url(link)}"' in page
        assert "健康観察の対応リスト" in page
    for client in (world.kobe.client("clerk"), signed_in_client(world.clinic.user)):
        page = client.get(console)
        assert page.status_code == 200
        for link in links:
            assert world.kobe.url(link) not in page.content.decode()
    sayo = world.sayo.client("admin").get(world.sayo.url("staff/")).content.decode()
    assert "/health/" not in sayo
    hyogo = signed_in_client(world.hyogo_nurse).get(f"/{world.hyogo.slug}/staff/")
    assert f'href="/{world.hyogo.slug}/health/cases/"' in hyogo.content.decode()


def test_case_pages_are_never_stored_by_a_cache(world: World) -> None:
    """The health centre's case pages under /<slug>/health/ carry Cache-Control: no-store."""
    case = file(world, adult()).case
    nurse = signed_in_client(world.nurse)
    for url in (world.kobe.url("health/cases/"), world.kobe.url(f"health/cases/{case.pk}/")):
        response = nurse.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], url


def test_the_case_list_records_every_case_shown(world: World) -> None:
    """One access entry per case on the page: before, the ids were joined and cut at 64
    characters, so most cases went unrecorded and a cut id named another case."""
    for n in range(30):
        file(world, adult(name=f"患者 {n:02d}", name_kana=f"かんじゃ {n:02d}"))
    cases = sorted(Case.objects.values_list("pk", flat=True))
    nurse = signed_in_client(world.nurse)

    assert nurse.get(world.kobe.url("health/cases/")).status_code == 200

    listed = AuditEntry.objects.filter(kind=EntryKind.ACCESS, action="list")
    assert sorted(int(e.object_id) for e in listed) == cases
    assert {(e.object_type, e.purpose, e.actor_label) for e in listed} == {
        ("surveillance.case", "積極的疫学調査・健康観察", "kobe-nurse")
    }
