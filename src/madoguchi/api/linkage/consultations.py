"""The consultation hand-over inbox through the data-linkage API.

Scope ``consultations:read`` lists the inbox and reads a conversation; ``consultations:write``
replies and closes. The inbox, who may see a conversation, the read (which leaves the access
entry and, for a client that may answer, marks the conversation seen), the reply (pushed to
LINE when the resident wrote there) and the close are the staff pages' selectors and services.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import uuid
from http import HTTPStatus
from typing import Any, Literal

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from madoguchi.api.clients.scopes import Scope
from madoguchi.api.errors import ApiError, ApiErrorCode, error_responses, field_invalid
from madoguchi.api.linkage.auth import ClientBearer, ClientContext, client_context
from madoguchi.api.linkage.schemas import NO_NUL
from madoguchi.consultation import selectors
from madoguchi.consultation.errors import ConsultationError, ConsultationErrorCode
from madoguchi.consultation.handover import conversation_close, conversation_read, staff_reply
from madoguchi.consultation.models import Conversation, ConversationState
from madoguchi.consultation.notify import ANSWERING_ROLES
from madoguchi.tenants.models import Membership, Role

__all__ = ["router"]

router = Router(tags=["consultations"])
bearer = ClientBearer()


class _Out(Schema):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class ConversationOut(_Out):
    id: uuid.UUID
    channel: str
    state: str
    department_code: str | None = None
    handover_at: datetime.datetime | None = None
    last_message_at: datetime.datetime
    staff_seen_at: datetime.datetime | None = None


class ConversationPageOut(_Out):
    items: list[ConversationOut]
    next_cursor: str | None = None


class MessageOut(_Out):
    id: int
    sender: str
    text: str
    outcome: str
    created_at: datetime.datetime
    delivery: str


class ConversationDetailOut(ConversationOut):
    messages: list[MessageOut]


class ReplyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=4000, pattern=NO_NUL)


class ReplyOut(_Out):
    id: int
    created_at: datetime.datetime
    conversation_state: str


class InboxFilters(Schema):
    state: Literal["", "waiting", "answered"] = ""
    department: str = Field(default="", max_length=63)
    channel: Literal["", "web", "line"] = ""
    cursor: str = Field(default="", max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


def _out(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.pk,
        "channel": conversation.channel,
        "state": conversation.state,
        "department_code": conversation.department.code if conversation.department else None,
        "handover_at": conversation.handover_at,
        "last_message_at": conversation.last_message_at,
        "staff_seen_at": conversation.staff_seen_at,
    }


def _bad_cursor() -> ApiError:
    return field_invalid(
        "cursor", "cursor_invalid", _("cursor は前の応答の next_cursor をそのまま渡してください。")
    )


def _cursor_of(conversation: Conversation) -> str:
    at = conversation.handover_at or conversation.created_at  # the inbox_at of the list
    raw = f"c:{at.isoformat()}|{conversation.pk}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _cursor_after(cursor: str) -> tuple[datetime.datetime, uuid.UUID]:
    try:
        value = base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode("ascii")
        kind, _sep, rest = value.partition(":")
        stamp, _bar, pk = rest.partition("|")
        at = datetime.datetime.fromisoformat(stamp)
        if kind != "c" or at.tzinfo is None:
            raise ValueError(cursor)
        return at, uuid.UUID(pk)
    except (ValueError, UnicodeError, binascii.Error):
        raise _bad_cursor() from None


def _context(request: HttpRequest, municipality: str, scope: Scope) -> ClientContext:
    """The caller as a consultation worker: a clerk (who may answer) with
    ``consultations:write``, else a viewer, whatever its other scopes make it elsewhere. So a
    client that may not answer never marks a conversation seen (which stops staff reminders).
    """
    context = client_context(request, municipality, scope)
    answers = Scope.CONSULTATIONS_WRITE in context.client.scopes
    membership = Membership(
        user=context.staff.user,
        municipality=context.municipality,
        department=None,
        role=Role.CLERK if answers else Role.VIEWER,
    )
    return ClientContext(
        client=context.client, staff=dataclasses.replace(context.staff, memberships=(membership,))
    )


def _conversation(context: ClientContext, conversation_id: str) -> Conversation:
    found = selectors.conversation_get(
        municipality=context.municipality, conversation_id=conversation_id
    )
    if found is None or not selectors.may_see_conversation(staff=context.staff, conversation=found):
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.CONVERSATION_NOT_FOUND,
            _("その相談はありません。"),
        )
    return found


@router.get(
    "/{municipality}/consultations",
    response={200: ConversationPageOut, **error_responses(401, 403, 404, 422, 429)},
    auth=bearer,
    summary="職員に引き継がれた相談の一覧（新しい引き継ぎ順、cursor で続きを取得）",
    operation_id="linkage_consultation_list",
)
def consultation_list(
    request: HttpRequest, municipality: str, filters: Query[InboxFilters]
) -> dict[str, Any]:
    context = _context(request, municipality, Scope.CONSULTATIONS_READ)
    found = selectors.inbox_list(staff=context.staff).annotate(
        inbox_at=Coalesce("handover_at", "created_at")
    )
    if filters.state:
        found = found.filter(state=filters.state)
    if filters.channel:
        found = found.filter(channel=filters.channel)
    if filters.department:
        found = found.filter(department__code=filters.department)
    if filters.cursor:
        at, pk = _cursor_after(filters.cursor)
        found = found.filter(Q(inbox_at__lt=at) | Q(inbox_at=at, pk__lt=pk))
    page = list(found.order_by("-inbox_at", "-pk")[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "items": [_out(c) for c in page],
        "next_cursor": _cursor_of(page[-1]) if more else None,
    }


@router.get(
    "/{municipality}/consultations/{conversation_id}",
    response={200: ConversationDetailOut, **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="相談のやり取り（読んだことが住民の閲覧記録に残ります）",
    operation_id="linkage_consultation_get",
)
def consultation_get(
    request: HttpRequest, municipality: str, conversation_id: str
) -> dict[str, Any]:
    context = _context(request, municipality, Scope.CONSULTATIONS_READ)
    conversation = _conversation(context, conversation_id)
    messages = conversation_read(staff=context.staff, conversation=conversation)
    return {
        **_out(conversation),
        "messages": [
            {
                "id": m.pk,
                "sender": m.sender,
                "text": m.text,
                "outcome": m.outcome,
                "created_at": m.created_at,
                "delivery": m.delivery,
            }
            for m in messages
        ],
    }


def _may_answer(context: ClientContext, conversation: Conversation) -> None:
    if not context.staff.has_role(ANSWERING_ROLES, conversation.department):
        raise ApiError(
            HTTPStatus.FORBIDDEN,
            ApiErrorCode.ROLE_NOT_ALLOWED,
            _("このクライアントの権限では相談に返信できません。"),
        )


_REPLY_REFUSALS = {
    ConsultationErrorCode.MESSAGE_EMPTY: ApiErrorCode.MESSAGE_EMPTY,
    ConsultationErrorCode.MESSAGE_TOO_LONG: ApiErrorCode.MESSAGE_TOO_LONG,
}


@router.post(
    "/{municipality}/consultations/{conversation_id}/replies",
    response={201: ReplyOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="相談に職員として返信する（LINE の相談は LINE に送ります）",
    operation_id="linkage_consultation_reply",
)
def consultation_reply(
    request: HttpRequest, municipality: str, conversation_id: str, payload: ReplyIn
) -> Status[dict[str, Any]]:
    context = _context(request, municipality, Scope.CONSULTATIONS_WRITE)
    conversation = _conversation(context, conversation_id)
    _may_answer(context, conversation)
    try:
        message = staff_reply(staff=context.staff, conversation=conversation, text=payload.text)
    except ConsultationError as error:
        code = _REPLY_REFUSALS.get(error.code, ApiErrorCode.INVALID_REQUEST)
        raise ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, code, error.message, field="text") from None
    return Status(
        201,
        {
            "id": message.pk,
            "created_at": message.created_at,
            "conversation_state": conversation.state,
        },
    )


@router.post(
    "/{municipality}/consultations/{conversation_id}/close",
    response={200: ConversationOut, **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="引き継ぎを終える（住民の次の質問には再び自動応答が答えます）",
    operation_id="linkage_consultation_close",
)
def consultation_close(
    request: HttpRequest, municipality: str, conversation_id: str
) -> dict[str, Any]:
    context = _context(request, municipality, Scope.CONSULTATIONS_WRITE)
    conversation = _conversation(context, conversation_id)
    _may_answer(context, conversation)
    conversation_close(staff=context.staff, conversation=conversation)
    conversation.state = ConversationState.CLOSED
    return _out(conversation)
