"""The consultation hand-over inbox through the linkage API: the staff pages' rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from madoguchi.api.clients.models import ApiClient
from madoguchi.audit.models import AuditEntry, EntryKind
from madoguchi.consultation.models import Conversation, ConversationState, Message, Sender
from tests.api.linkage.capabilities import RESIDENT_TEXT, handed_over
from tests.api.linkage.support import call, token_for
from tests.isolation import Tenant, snapshot

INBOX = "/api/v1/kobe/consultations"


@pytest.fixture
def reader(tenant_a: Tenant) -> str:
    return token_for(tenant_a.municipality, ["consultations:read"], name="コールセンター")


@pytest.fixture
def answerer(tenant_a: Tenant) -> str:
    return token_for(
        tenant_a.municipality, ["consultations:read", "consultations:write"], name="コールセンター"
    )


def _state() -> dict[str, Any]:
    return {
        "conversations": snapshot(Conversation.objects.all()),
        "messages": snapshot(Message.objects.all()),
    }


def test_the_inbox_lists_waiting_and_answered_hand_overs_newest_first_with_a_cursor(
    client: Client, tenant_a: Tenant, reader: str
) -> None:
    conversations = [handed_over(tenant_a) for _ in range(3)]
    bot_only = handed_over(tenant_a)
    Conversation.objects.filter(pk=bot_only.pk).update(state=ConversationState.BOT)

    first = call(client, "get", f"{INBOX}?limit=2", reader).json()
    rest = call(client, "get", f"{INBOX}?limit=2&cursor={first['next_cursor']}", reader).json()

    listed = [c["id"] for c in first["items"] + rest["items"]]
    assert listed == [str(c.pk) for c in reversed(conversations)]
    assert rest["next_cursor"] is None
    assert RESIDENT_TEXT not in str(first)


def test_the_inbox_filters_by_state_department_and_channel(
    client: Client, tenant_a: Tenant, reader: str
) -> None:
    waiting = handed_over(tenant_a, department_code="welfare")
    answered = handed_over(tenant_a, department_code="citizens")
    Conversation.objects.filter(pk=answered.pk).update(state=ConversationState.ANSWERED)

    def ids(query: str) -> list[str]:
        return [c["id"] for c in call(client, "get", f"{INBOX}?{query}", reader).json()["items"]]

    assert ids("state=answered") == [str(answered.pk)]
    assert ids("department=welfare") == [str(waiting.pk)]
    assert ids("channel=line") == []
    assert set(ids("channel=web")) == {str(waiting.pk), str(answered.pk)}


def test_a_forged_cursor_is_a_clear_422(client: Client, tenant_a: Tenant, reader: str) -> None:
    response = call(client, "get", f"{INBOX}?cursor=bm90LWEtY3Vyc29y", reader)

    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["code"] == "cursor_invalid"


def test_reading_a_conversation_leaves_an_access_entry_with_the_client_as_actor(
    client: Client, tenant_a: Tenant, reader: str
) -> None:
    conversation = handed_over(tenant_a)

    response = call(client, "get", f"{INBOX}/{conversation.pk}", reader)

    assert response.status_code == 200
    assert response.json()["messages"][0]["text"] == RESIDENT_TEXT
    access = AuditEntry.objects.get(
        kind=EntryKind.ACCESS, object_id=str(conversation.pk), purpose="相談への対応"
    )
    client_of_token = ApiClient.objects.get(name="コールセンター")
    assert access.actor_id == client_of_token.service_user_id
    # A client that may only read does not stop the reminder mails to staff.
    assert Conversation.objects.get(pk=conversation.pk).staff_seen_at is None


def test_reading_with_only_the_read_scope_never_marks_the_conversation_seen(
    client: Client, tenant_a: Tenant
) -> None:
    """Other scopes (here one that makes the client a supervisor for the workflow) do not
    let a client that may not answer stop the staff's reminder mails."""
    token = token_for(
        tenant_a.municipality, ["consultations:read", "applications:transition"], name="基幹系"
    )
    conversation = handed_over(tenant_a)

    assert call(client, "get", f"{INBOX}/{conversation.pk}", token).status_code == 200

    assert Conversation.objects.get(pk=conversation.pk).staff_seen_at is None


def test_reading_with_the_write_scope_marks_the_conversation_seen(
    client: Client, tenant_a: Tenant, answerer: str
) -> None:
    conversation = handed_over(tenant_a)

    assert call(client, "get", f"{INBOX}/{conversation.pk}", answerer).status_code == 200

    assert Conversation.objects.get(pk=conversation.pk).staff_seen_at is not None


def test_a_reply_is_stored_as_staffs_and_the_conversation_is_answered(
    client: Client, tenant_a: Tenant, answerer: str
) -> None:
    conversation = handed_over(tenant_a)

    response = call(
        client, "post", f"{INBOX}/{conversation.pk}/replies", answerer, {"text": "再発行できます。"}
    )

    assert response.status_code == 201, response.content
    assert response.json()["conversation_state"] == "answered"
    reply = Message.objects.get(pk=response.json()["id"])
    assert (reply.sender, reply.text) == (Sender.STAFF, "再発行できます。")
    assert Conversation.objects.get(pk=conversation.pk).state == ConversationState.ANSWERED
    event = AuditEntry.objects.get(kind=EntryKind.EVENT, action="consultation.reply")
    assert event.actor_id == reply.author_id


@pytest.mark.parametrize(
    ("text", "code"), [("  \r\n ", "message_empty"), ("あ" * 2001, "message_too_long")]
)
def test_an_empty_or_too_long_reply_is_refused_and_nothing_changes(
    client: Client, tenant_a: Tenant, answerer: str, text: str, code: str
) -> None:
    conversation = handed_over(tenant_a)
    before = _state()

    response = call(client, "post", f"{INBOX}/{conversation.pk}/replies", answerer, {"text": text})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert _state() == before


def test_closing_ends_the_hand_over_and_leaves_the_inbox(
    client: Client, tenant_a: Tenant, answerer: str
) -> None:
    conversation = handed_over(tenant_a)

    response = call(client, "post", f"{INBOX}/{conversation.pk}/close", answerer)

    assert response.status_code == 200
    assert response.json()["state"] == "closed"
    assert Conversation.objects.get(pk=conversation.pk).state == ConversationState.CLOSED
    assert call(client, "get", INBOX, answerer).json()["items"] == []
    assert AuditEntry.objects.filter(kind=EntryKind.EVENT, action="consultation.close").exists()


@pytest.mark.parametrize("conversation_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_an_unknown_conversation_is_404(
    client: Client, tenant_a: Tenant, answerer: str, conversation_id: str
) -> None:
    response = call(client, "get", f"{INBOX}/{conversation_id}", answerer)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("department=%00", "department"),
        ("department=%C3%BES%F1%96%B9%93%00%C3%A6a&channel=web", "department"),
        ("cursor=abc%00", "cursor"),
        ("de%00partment=welfare", "department"),
    ],
)
def test_a_nul_character_in_the_query_is_422_on_every_database(
    client: Client, tenant_a: Tenant, reader: str, query: str, field: str
) -> None:
    """PostgreSQL refuses NUL in text (SQLite would compare it): refused before either sees it."""
    handed_over(tenant_a)

    response = call(client, "get", f"{INBOX}?{query}", reader)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    [detail] = error["details"]
    assert (detail["field"], detail["code"]) == (field, "string_nul")
    assert detail["message"] == "NUL 文字は使えません。"
