"""Request and response shapes of the data-linkage API."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field

__all__ = [
    "NO_NUL",
    "ApplicationDetailOut",
    "ApplicationOut",
    "ApplicationPageOut",
    "AttachmentOut",
    "BulkTransitionIn",
    "NoteIn",
    "NoteOut",
    "OAuthErrorOut",
    "TokenOut",
    "TransitionIn",
]


# No NUL character in any text a client sends: PostgreSQL refuses it in text, so it would
# fail at the database (a 500) where SQLite stores it. Refused by the schema instead, the same
# on both, with pydantic's own code (string_pattern_mismatch) and the field's name.
NO_NUL = r"^[^\x00]*$"
_ReceiptNumber = Annotated[str, Field(pattern=NO_NUL)]
_EventType = Annotated[str, Field(pattern=NO_NUL)]


class _Out(Schema):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class TokenOut(_Out):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 type, not a secret
    expires_in: int
    scope: str


class OAuthErrorOut(_Out):
    """RFC 6749 section 5.2: what OAuth client libraries expect from a token endpoint."""

    error: str
    error_description: str


class ApplicationOut(_Out):
    id: int
    receipt_number: str
    procedure_code: str
    department_code: str
    state: str
    channel: str
    submitted_at: datetime.datetime
    state_changed_at: datetime.datetime
    due_date: datetime.date
    closed_at: datetime.datetime | None = None


class ApplicationPageOut(_Out):
    items: list[ApplicationOut]
    next_cursor: str | None = None


class AttachmentOut(_Out):
    id: uuid.UUID
    field_key: str
    original_name: str
    content_type: str
    size: int
    sha256: str


class ApplicationDetailOut(ApplicationOut):
    public_message: str
    answers: dict[str, Any]
    attachments: list[AttachmentOut]


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, max_length=40, pattern=NO_NUL)
    reason: str = Field(default="", max_length=2000, pattern=NO_NUL)
    missing_items: str = Field(default="", max_length=2000, pattern=NO_NUL)
    public_message: str = Field(default="", max_length=2000, pattern=NO_NUL)
    expected_state: str | None = Field(default=None, max_length=40, pattern=NO_NUL)


class BulkTransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    receipt_numbers: list[_ReceiptNumber] = Field(min_length=1, max_length=200)
    target: str = Field(min_length=1, max_length=40, pattern=NO_NUL)
    reason: str = Field(default="", max_length=2000, pattern=NO_NUL)
    public_message: str = Field(default="", max_length=2000, pattern=NO_NUL)


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=4000, pattern=NO_NUL)


class NoteOut(_Out):
    id: int
    created_at: datetime.datetime


class WebhookIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=500, pattern=r"^https?://[^\s\x00]+$")
    event_types: list[_EventType] = Field(min_length=1, max_length=10)


class WebhookOut(_Out):
    id: int
    url: str
    event_types: list[str]
    disabled: bool
    consecutive_failures: int


class WebhookCreatedOut(WebhookOut):
    secret: str
