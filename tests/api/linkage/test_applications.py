"""Application operations of the data-linkage API: the console's selectors and workflow rules."""

from __future__ import annotations

from django.test import Client

from madoguchi.api.clients.models import ApiClient
from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.procedures.models import Application, Note, StateChange
from tests.api.linkage.support import call, token_for
from tests.isolation import Tenant, snapshot

BASE = "/api/v1/kobe/applications"


def test_the_list_pages_with_a_cursor_oldest_first(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    token = token_for(tenant_a.municipality, ["applications:read"])

    first = call(client, "get", f"{BASE}?limit=2", token).json()
    second = call(client, "get", f"{BASE}?limit=2&cursor={first['next_cursor']}", token).json()

    receipts = [a.receipt_number for a in kobe_applications]
    assert [a["receipt_number"] for a in first["items"]] == receipts[:2]
    assert [a["receipt_number"] for a in second["items"]] == receipts[2:]
    assert second["next_cursor"] is None
    assert first["items"][0]["procedure_code"] == "teigaku-kyufukin"
    assert first["items"][0]["department_code"] == "welfare"
    assert "answers" not in first["items"][0]


def test_the_list_filters_by_state(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    token = token_for(tenant_a.municipality)
    call(
        client,
        "post",
        f"{BASE}/{kobe_applications[1].receipt_number}/transitions",
        token,
        {"target": "reviewing"},
    )

    body = call(client, "get", f"{BASE}?state=reviewing", token).json()

    assert [a["receipt_number"] for a in body["items"]] == [kobe_applications[1].receipt_number]


def test_a_broken_cursor_is_a_422_not_a_500(client: Client, tenant_a: Tenant) -> None:
    token = token_for(tenant_a.municipality)

    response = call(client, "get", f"{BASE}?cursor=%00%ff", token)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "cursor"


def test_submitted_since_takes_any_offset_and_refuses_a_moment_outside_the_calendar(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    """ISO 8601 allows offsets PostgreSQL does not (+16:07): the moment is compared in UTC. A
    moment that leaves the calendar in UTC is a 422, never a 500."""
    token = token_for(tenant_a.municipality, ["applications:read"])

    old = call(client, "get", f"{BASE}?submitted_since=0482-03-10T13%3A45%3A34%2B16%3A07", token)
    future = call(client, "get", f"{BASE}?submitted_since=2999-01-01T00%3A00%3A00", token)
    beyond = call(client, "get", f"{BASE}?submitted_since=9999-12-31T23%3A00%3A00-16%3A00", token)

    assert old.status_code == 200, old.content
    assert len(old.json()["items"]) == len(kobe_applications)
    assert (future.status_code, future.json()["items"]) == (200, [])
    assert beyond.status_code == 422, beyond.content
    assert beyond.json()["error"]["details"][0]["field"] == "submitted_since"


def test_the_detail_has_answers_and_attachments_and_leaves_an_access_entry(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    token = token_for(tenant_a.municipality, ["applications:read"], name="コールセンター")
    application = kobe_applications[0]

    response = call(client, "get", f"{BASE}/{application.receipt_number}", token)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["answers"]["name"] == application.answers["name"]
    assert [a["id"] for a in body["attachments"]] == [
        str(a.pk) for a in application.attachments.all()
    ]
    access = AuditEntry.objects.get(
        kind=EntryKind.ACCESS,
        object_type="procedures.application",
        object_id=str(application.pk),
    )
    assert ApiClient.objects.get(service_user_id=access.actor_id).name == "コールセンター"
    assert access.purpose == "API クライアント「コールセンター」による申請の確認"


def test_a_transition_follows_the_console_rules_and_is_audited_as_the_client(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    token = token_for(tenant_a.municipality, name="住民記録システム")
    application = kobe_applications[0]
    url = f"{BASE}/{application.receipt_number}/transitions"

    moved = call(client, "post", url, token, {"target": "reviewing", "expected_state": "received"})
    no_reason = call(client, "post", url, token, {"target": "on_hold"})
    not_allowed = call(client, "post", url, token, {"target": "paid"})
    stale = call(
        client,
        "post",
        url,
        token,
        {"target": "on_hold", "reason": "x", "expected_state": "received"},
    )

    assert moved.status_code == 200, moved.content
    assert moved.json()["state"] == "reviewing"
    assert (no_reason.status_code, no_reason.json()["error"]["code"]) == (422, "reason_required")
    assert (not_allowed.status_code, not_allowed.json()["error"]["code"]) == (
        409,
        "transition_not_allowed",
    )
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "stale")
    application.refresh_from_db()
    assert application.state == "reviewing"
    [change] = StateChange.objects.filter(application=application, to_state="reviewing")
    assert change.actor_label.startswith("api:mdgc_")
    event = AuditEntry.objects.get(action="application.transition", object_id=str(application.pk))
    assert ApiClient.objects.get(service_user_id=event.actor_id).name == "住民記録システム"


def test_notes_and_bulk_transitions(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    token = token_for(tenant_a.municipality)
    receipts = [a.receipt_number for a in kobe_applications]

    note = call(client, "post", f"{BASE}/{receipts[0]}/notes", token, {"text": "住基で確認済み"})
    empty = call(client, "post", f"{BASE}/{receipts[0]}/notes", token, {"text": "  "})
    bulk = call(
        client,
        "post",
        "/api/v1/kobe/applications-bulk/transitions",
        token,
        {"receipt_numbers": receipts[:2], "target": "reviewing"},
    )

    assert note.status_code == 201, note.content
    assert Note.objects.get(pk=note.json()["id"]).text == "住基で確認済み"
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "note_empty")
    assert bulk.status_code == 200, bulk.content
    assert [a["state"] for a in bulk.json()] == ["reviewing", "reviewing"]
    assert Application.objects.get(pk=kobe_applications[2].pk).state == "received"


def test_a_bulk_transition_moves_all_or_none(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    token = token_for(tenant_a.municipality)
    receipts = [a.receipt_number for a in kobe_applications]
    call(client, "post", f"{BASE}/{receipts[0]}/transitions", token, {"target": "reviewing"})
    before = snapshot(Application.objects.all())

    refused = call(
        client,
        "post",
        "/api/v1/kobe/applications-bulk/transitions",
        token,
        {"receipt_numbers": receipts, "target": "reviewing"},
    )
    unknown = call(
        client,
        "post",
        "/api/v1/kobe/applications-bulk/transitions",
        token,
        {"receipt_numbers": [receipts[1], "0000000000"], "target": "reviewing"},
    )

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "transition_not_allowed")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "application_not_found")
    assert snapshot(Application.objects.all()) == before


def test_a_nul_character_in_a_note_or_a_transition_is_422_and_nothing_is_stored(
    client: Client, tenant_a: Tenant, kobe_applications: list[Application]
) -> None:
    """PostgreSQL refuses NUL in text: a note holding one was a 500 there (found by fuzzing),
    while SQLite stored it. The schema refuses it on both, naming the field."""
    token = token_for(tenant_a.municipality)
    receipts = [a.receipt_number for a in kobe_applications]
    before = (snapshot(Note.objects.all()), snapshot(Application.objects.all()))

    answers = [
        call(client, "post", f"{BASE}/{receipts[0]}/notes", token, {"text": "確認\x00済み"}),
        call(
            client,
            "post",
            f"{BASE}/{receipts[0]}/transitions",
            token,
            {"target": "reviewing", "public_message": "審査\x00中"},
        ),
        call(
            client,
            "post",
            "/api/v1/kobe/applications-bulk/transitions",
            token,
            {"receipt_numbers": [receipts[0], "87\x0000"], "target": "reviewing"},
        ),
    ]

    fields = []
    for answer in answers:
        assert answer.status_code == 422, answer.content
        error = answer.json()["error"]
        assert error["code"] == "invalid_request"
        [detail] = error["details"]
        assert detail["code"] == "string_pattern_mismatch"
        fields.append(detail["field"])
    assert fields == ["text", "public_message", "receipt_numbers[1]"]
    assert (snapshot(Note.objects.all()), snapshot(Application.objects.all())) == before
