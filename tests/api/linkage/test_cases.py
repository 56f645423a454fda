"""The case register over the data-linkage API: 発生届 from a clinic's system through the clinic
form's service, the health centre's case list, detail, casework and self-reports."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.api.clients.models import ApiClient
from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.surveillance import selectors
from madoguchi.surveillance.models import Case, FollowUpStatus, Notification, SelfReport
from madoguchi.surveillance.services import report_link_issue, self_report_submit
from madoguchi.surveillance.setup import clinic_create
from tests.api.linkage.support import CASE_SCOPES, call, notification_body, token_for
from tests.isolation import PASSWORD, Tenant
from tests.surveillance.factories import ACTOR, World, make_world

BASE = "/api/v1/kobe"


@pytest.fixture
def world(tenant_a: Tenant, tenant_b: Tenant) -> World:
    return make_world(tenant_a, tenant_b)


@pytest.fixture
def token(world: World) -> str:
    return token_for(world.kobe.municipality, CASE_SCOPES, name="保健所システム")


def _file(client: Client, token: str, world: World, **changes: Any) -> Any:
    return call(
        client,
        "post",
        f"{BASE}/notifications",
        token,
        notification_body(world.clinic.pk, **changes),
    )


def _access_count() -> int:
    return AuditEntry.objects.filter(kind=EntryKind.ACCESS).count()


def test_a_clinics_system_files_a_notification_and_gets_the_case_id(
    client: Client, world: World, token: str
) -> None:
    response = _file(client, token, world)

    assert response.status_code == 201, response.content
    body = response.json()
    case = Case.objects.get()
    assert body == {
        "case": case.pk,
        "notification": Notification.objects.get().pk,
        "linked": False,
        "case_municipality": "kobe",
    }
    assert case.health_centre == world.kobe_centre
    assert case.name == "山田 太郎"
    assert Notification.objects.get().clinic == world.clinic
    filed = AuditEntry.objects.get(action="surveillance.notification_filed")
    assert ApiClient.objects.get(service_user_id=filed.actor_id).name == "保健所システム"
    assert filed.department_label == world.kobe_centre.department.name


def test_the_same_person_notified_again_is_linked_to_the_case(
    client: Client, world: World, token: str
) -> None:
    first = _file(client, token, world).json()

    # The same person (氏名 spaced differently, 電話 in full-width digits): the form's dedup.
    again = _file(client, token, world, name="山田　太郎", phone="０９０-1234-5678")

    assert again.status_code == 201, again.content
    assert again.json()["case"] == first["case"]
    assert again.json()["linked"] is True
    assert Case.objects.count() == 1
    assert Notification.objects.count() == 2


def test_a_notification_for_a_patient_elsewhere_goes_to_that_centre(
    client: Client, world: World, token: str
) -> None:
    """Routing is the form's: a 佐用町 patient is a case of 兵庫県's health centre."""
    response = _file(client, token, world, residence_code="285013")

    assert response.status_code == 201, response.content
    assert response.json()["case_municipality"] == world.hyogo.slug
    assert Case.objects.get().health_centre == world.hyogo_centre


def test_an_invalid_notification_names_each_field_and_stores_nothing(
    client: Client, world: World, token: str
) -> None:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = _file(
        client, token, world, name="", diagnosis_date=tomorrow.isoformat(), symptoms=["tail"]
    )

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "notification_invalid"
    found = {(d["field"], d["code"]) for d in error["details"]}
    assert ("name", "required") in found
    assert ("diagnosis_date", "date_future") in found
    assert ("symptoms", "out_of_range") in found
    assert all(d["message"] for d in error["details"])
    assert not Case.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"category": "unknown"}, "required"),
        ({"disease": "smallpox"}, "required"),
        ({"residence_code": "999999"}, "not_covered"),
    ],
)
def test_what_the_service_refuses_is_a_stable_code(
    client: Client, world: World, token: str, changes: dict[str, Any], code: str
) -> None:
    response = _file(client, token, world, **changes)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "notification_invalid"
    assert [d["code"] for d in response.json()["error"]["details"]] == [code]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"birth_date": "1990-02-30"},
        {"email": "not an address"},
        {"residence_code": "28100"},
        {"sex": "x"},
        {"surprise": 1},
        {"clinic": 2**70},
    ],
)
def test_a_malformed_notification_is_a_422_and_stores_nothing(
    client: Client, world: World, token: str, changes: dict[str, Any]
) -> None:
    response = _file(client, token, world, **changes)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "invalid_request"
    assert not Case.objects.exists()


def test_a_clinic_of_another_body_is_refused(client: Client, world: World, token: str) -> None:
    other = clinic_create(
        health_centre=world.hyogo_centre,
        username="tatsuno-clinic",
        password=PASSWORD,
        name="たつのクリニック",
        address="たつの市",
        phone="0791-11-1111",
        doctor_name="医師 二郎",
        actor=ACTOR,
    )

    response = _file(client, token, world, clinic=other.pk)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "clinic_not_found"
    assert response.json()["error"]["field"] == "clinic"
    assert not Case.objects.exists()


def test_the_clinics_the_client_may_file_for(client: Client, world: World, token: str) -> None:
    response = call(client, "get", f"{BASE}/clinics", token)

    assert response.status_code == 200
    assert response.json() == [
        {"id": world.clinic.pk, "name": "みなとクリニック", "health_centre": "神戸市保健所"}
    ]


def test_the_case_list_pages_with_a_cursor_and_identifies_nobody(
    client: Client, world: World, token: str
) -> None:
    ids = [
        _file(client, token, world, name=name, phone=f"090-0000-000{i}").json()["case"]
        for i, name in enumerate(["山田 太郎", "佐藤 花子", "鈴木 一郎"])
    ]
    accesses = _access_count()

    first = call(client, "get", f"{BASE}/cases?limit=2", token)
    rest = call(client, "get", f"{BASE}/cases?cursor={first.json()['next_cursor']}", token)

    assert first.status_code == 200, first.content
    assert [c["id"] for c in first.json()["items"]] == ids[:2]
    assert [c["id"] for c in rest.json()["items"]] == ids[2:]
    assert rest.json()["next_cursor"] is None
    text = first.content.decode() + rest.content.decode()
    for personal in ("山田", "佐藤", "090-", "1990-04-01", "taro@"):
        assert personal not in text
    assert first.json()["items"][0]["age_band"] == "30代"
    assert _access_count() == accesses  # nothing personal was read


def test_the_case_list_filters(client: Client, world: World, token: str) -> None:
    first = _file(client, token, world).json()["case"]
    _file(client, token, world, name="佐藤 花子", phone="090-0000-0001")
    Case.objects.filter(pk=first).update(follow_up=FollowUpStatus.MONITORING)

    monitoring = call(client, "get", f"{BASE}/cases?follow_up=monitoring", token)
    measles = call(client, "get", f"{BASE}/cases?disease=measles", token)
    unknown = call(client, "get", f"{BASE}/cases?follow_up=asleep", token)
    broken = call(client, "get", f"{BASE}/cases?cursor=bm9wZQ", token)

    assert [c["id"] for c in monitoring.json()["items"]] == [first]
    assert measles.json()["items"] == []
    assert unknown.status_code == 422
    assert broken.status_code == 422
    assert broken.json()["error"]["details"][0]["code"] == "cursor_invalid"


def test_reading_a_case_leaves_an_access_entry_the_patient_sees(
    client: Client, world: World, token: str
) -> None:
    case_id = _file(client, token, world).json()["case"]
    accesses = _access_count()

    response = call(client, "get", f"{BASE}/cases/{case_id}", token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "山田 太郎"
    assert body["birth_date"] == "1990-04-01"
    assert body["follow_up"] == "not_contacted"
    assert [n["clinic"] for n in body["notifications"]] == ["みなとクリニック"]
    assert _access_count() == accesses + 1
    [(_when, department, purpose)] = selectors.case_accesses(case=Case.objects.get(pk=case_id))
    assert department == world.kobe_centre.department.name
    assert "保健所システム" in purpose


def test_the_follow_up_is_set_through_the_consoles_service(
    client: Client, world: World, token: str
) -> None:
    case_id = _file(client, token, world).json()["case"]

    response = call(
        client,
        "post",
        f"{BASE}/cases/{case_id}/follow-up",
        token,
        {"status": "unreachable", "note": "2回不通"},
    )

    assert response.status_code == 200, response.content
    assert response.json()["follow_up"] == "unreachable"
    case = Case.objects.get(pk=case_id)
    assert (case.follow_up, case.follow_up_note) == ("unreachable", "2回不通")
    event = AuditEntry.objects.get(action="surveillance.follow_up_set")
    assert event.data == {"from": "not_contacted", "to": "unreachable"}
    assert ApiClient.objects.get(service_user_id=event.actor_id).name == "保健所システム"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"status": "asleep"}, "follow_up", "required"),
        ({"status": "monitoring", "note": "あ" * 501}, "follow_up_note", "too_long"),
    ],
)
def test_a_refused_follow_up_changes_nothing(
    client: Client, world: World, token: str, body: dict[str, str], field: str, code: str
) -> None:
    case_id = _file(client, token, world).json()["case"]

    response = call(client, "post", f"{BASE}/cases/{case_id}/follow-up", token, body)

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "case_update_invalid"
    assert (error["field"], error["details"][0]["code"]) == (field, code)
    assert Case.objects.get(pk=case_id).follow_up == "not_contacted"


def test_the_care_setting_is_updated_through_the_consoles_service(
    client: Client, world: World, token: str
) -> None:
    case_id = _file(client, token, world).json()["case"]
    before = Case.objects.get(pk=case_id)
    improved = before.day_zero + datetime.timedelta(days=3)

    response = call(
        client,
        "post",
        f"{BASE}/cases/{case_id}/care",
        token,
        {"care_setting": "hotel", "severity": "mild", "improved_on": improved.isoformat()},
    )
    too_early = call(
        client,
        "post",
        f"{BASE}/cases/{case_id}/care",
        token,
        {"care_setting": "home", "care_from": "2000-01-01"},
    )

    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=case_id)
    assert case.health["care_setting"] == "hotel"
    assert case.health["improved_on"] == improved.isoformat()
    assert response.json()["observation_end"] == case.observation_end.isoformat()
    assert too_early.status_code == 422
    assert too_early.json()["error"]["details"][0]["code"] == "date_order"
    assert Case.objects.get(pk=case_id).health["care_setting"] == "hotel"


def test_self_reports_are_read_with_an_access_entry(
    client: Client, world: World, token: str
) -> None:
    case = Case.objects.get(pk=_file(client, token, world).json()["case"])
    report_link_issue(cases=[case], actor=ACTOR)
    case.refresh_from_db()
    assert case.report_link is not None
    self_report_submit(
        link=case.report_link,
        case=case,
        day=timezone.localdate(),
        values={"temperature": "37.9", "spo2": "95"},
        urgent_signs=[],
        message="だるい",
    )
    accesses = _access_count()

    response = call(client, "get", f"{BASE}/cases/{case.pk}/self-reports", token)

    assert response.status_code == 200, response.content
    [report] = response.json()
    assert report["temperature"] == "37.9"
    assert report["spo2"] == 95
    assert report["message"] == "だるい"
    assert report["report_date"] == SelfReport.objects.get().report_date.isoformat()
    assert _access_count() == accesses + 1
    assert "体調報告" in selectors.case_accesses(case=case)[-1][2]
