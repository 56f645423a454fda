"""Status lookup by receipt number and secret, shared by the web page, the API and LINE.

A wrong number and a wrong secret get the same answer. Nobody can lock a resident out: limits
fall first on the client (its address, or its LINE user) that types wrong secrets.

- Lookups per client and minute (``STATUS_LOOKUP_RATE_PER_CLIENT``).
- Failures of one client on one number (``STATUS_LOOKUP_MAX_FAILURES`` in
  ``STATUS_LOOKUP_LOCK_SECONDS``): that client is refused the number (``receipt_locked``) until
  the window ends. Failures of one client over all numbers
  (``STATUS_LOOKUP_CLIENT_MAX_FAILURES``): that client waits for every number.
- Per number, from all clients together: lookups per minute (``STATUS_LOOKUP_RATE_PER_RECEIPT``)
  and failures in the window (``STATUS_LOOKUP_RECEIPT_CEILING``, far above what a resident
  reaches). Past either, only clients that have failed on that number wait; a client without a
  failure of its own there (the resident with the printed code) is still answered.

Failures are counted by the number typed, whether or not it exists, so no refusal reveals it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from madoguchi.audit.models import EntryKind
from madoguchi.audit.selectors import audit_entries_for_object
from madoguchi.core.ratelimit import ratelimit_hit, ratelimit_peek, ratelimit_peek_many
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.models import Application
from madoguchi.procedures.receipts import (
    ReceiptFormatError,
    lookup_secret_hash,
    lookup_secret_matches,
    receipt_number_display,
    receipt_number_parse,
)
from madoguchi.procedures.selectors import (
    StatusRow,
    application_get_by_id,
    application_status_by_receipt,
    definition_of,
    definition_of_status,
)
from madoguchi.tenants.models import Municipality

__all__ = [
    "AccessRecord",
    "LookupErrorCode",
    "LookupRefused",
    "PublicStatus",
    "status_accesses",
    "status_lookup",
]


class LookupErrorCode(StrEnum):
    RECEIPT_FORMAT = "receipt_format"
    RECEIPT_CHECK_DIGIT = "receipt_check_digit"
    SECRET_REQUIRED = "secret_required"  # noqa: S105 - an error code
    NOT_FOUND = "not_found"  # wrong number or wrong secret: never told apart
    RATE_LIMITED = "rate_limited"
    LOCKED = "receipt_locked"


class LookupRefused(Exception):  # noqa: N818 - an outcome, not a failure of the code
    def __init__(self, code: LookupErrorCode, retry_after: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after

    @property
    def field(self) -> str:
        if self.code in {LookupErrorCode.RECEIPT_FORMAT, LookupErrorCode.RECEIPT_CHECK_DIGIT}:
            return "receipt_number"
        if self.code == LookupErrorCode.SECRET_REQUIRED:
            return "secret"
        return ""

    @property
    def message(self) -> str:
        minutes = max(1, (self.retry_after + 59) // 60)
        return {
            LookupErrorCode.RECEIPT_FORMAT: _(
                "受付番号は10桁の数字です。お手元の控えをご確認ください。"
            ),
            LookupErrorCode.RECEIPT_CHECK_DIGIT: _(
                "受付番号に入力の誤りがあるようです。数字を一つずつご確認ください。"
            ),
            LookupErrorCode.SECRET_REQUIRED: _("確認コードを入力してください。"),
            LookupErrorCode.NOT_FOUND: _(
                "受付番号または確認コードが正しくありません。控えの番号とコードをご確認ください。"
            ),
            LookupErrorCode.RATE_LIMITED: _(
                "短時間に多くの照会がありました。%(minutes)d分ほどたってからお試しください。"
            )
            % {"minutes": minutes},
            LookupErrorCode.LOCKED: _(
                "この受付番号は、確認コードの誤りが続いたため一時的に照会できません。"
                "%(minutes)d分ほどたってからお試しください。"
            )
            % {"minutes": minutes},
        }[self.code]


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What a resident may see about an application: no personal data."""

    receipt_number: str
    receipt_display: str
    procedure_name: str
    state: str
    state_label: str
    state_changed_at: datetime.datetime
    submitted_at: datetime.datetime
    expected_completion: datetime.date | None  # None once final
    resident_action: str
    public_message: str
    is_final: bool
    application_id: int


def status_lookup(
    *, municipality: Municipality, receipt_text: str, secret_text: str, client: str
) -> PublicStatus:
    """The public status of the application, or LookupRefused with a stable code."""
    limit = ratelimit_hit(
        f"status:client:{client}",
        limit=settings.STATUS_LOOKUP_RATE_PER_CLIENT,
        window_seconds=60,
    )
    if not limit.allowed:
        raise LookupRefused(LookupErrorCode.RATE_LIMITED, limit.retry_after)
    try:
        receipt = receipt_number_parse(receipt_text)
    except ReceiptFormatError as exc:
        raise LookupRefused(LookupErrorCode(exc.code)) from None
    if not secret_text.strip():
        raise LookupRefused(LookupErrorCode.SECRET_REQUIRED)

    window = settings.STATUS_LOOKUP_LOCK_SECONDS
    mine_key = f"status:failures:{client}:{receipt}"
    client_key = f"status:failures:{client}"
    receipt_key = f"status:failures:{receipt}"
    # One read for the client's own failure counts (on this number and on all of them).
    peeked = ratelimit_peek_many(
        {
            mine_key: (settings.STATUS_LOOKUP_MAX_FAILURES, window),
            client_key: (settings.STATUS_LOOKUP_CLIENT_MAX_FAILURES, window),
        }
    )
    mine = peeked[mine_key]
    if not mine.allowed:
        raise LookupRefused(LookupErrorCode.LOCKED, mine.retry_after)
    everywhere = peeked[client_key]
    if not everywhere.allowed:
        raise LookupRefused(LookupErrorCode.RATE_LIMITED, everywhere.retry_after)
    per_receipt = ratelimit_hit(
        f"status:receipt:{receipt}",
        limit=settings.STATUS_LOOKUP_RATE_PER_RECEIPT,
        window_seconds=60,
    )
    if mine.count:  # the number's own limits only slow clients that have failed on it
        if not per_receipt.allowed:
            raise LookupRefused(LookupErrorCode.RATE_LIMITED, per_receipt.retry_after)
        ceiling = ratelimit_peek(
            receipt_key, limit=settings.STATUS_LOOKUP_RECEIPT_CEILING, window_seconds=window
        )
        if not ceiling.allowed:
            raise LookupRefused(LookupErrorCode.LOCKED, ceiling.retry_after)

    application = application_status_by_receipt(
        municipality_id=municipality.pk, receipt_number=receipt
    )
    if application is None or not lookup_secret_matches(
        receipt, secret_text, application.secret_hash
    ):
        if application is None:
            lookup_secret_hash(receipt, secret_text)  # same work either way
        ratelimit_hit(mine_key, limit=settings.STATUS_LOOKUP_MAX_FAILURES, window_seconds=window)
        ratelimit_hit(
            client_key, limit=settings.STATUS_LOOKUP_CLIENT_MAX_FAILURES, window_seconds=window
        )
        ratelimit_hit(
            receipt_key, limit=settings.STATUS_LOOKUP_RECEIPT_CEILING, window_seconds=window
        )
        raise LookupRefused(LookupErrorCode.NOT_FOUND)
    return _public_status(definition_of_status(application), application, receipt)


def status_public(*, municipality: Municipality, application_id: int) -> PublicStatus | None:
    """The public status of an application this browser has just looked up with its secret
    (the caller holds that proof), e.g. to show the result again after an answer is sent."""
    application = application_get_by_id(municipality=municipality, application_id=application_id)
    return status_of(application=application) if application is not None else None


def status_of(*, application: Application) -> PublicStatus:
    """What the resident is shown of ``application`` once they have proved its access code."""
    return _public_status(
        definition_of(application.version), application, application.receipt_number
    )


def _public_status(
    definition: ProcedureDefinition, application: Application | StatusRow, receipt: str
) -> PublicStatus:
    state = definition.states.get(application.state)
    english = (get_language() or "ja").startswith("en")
    if state is None:  # a state removed from a later definition keeps its key visible
        label, action, final = application.state, "", False
    else:
        label = state.label_en if english and state.label_en else state.label_ja
        action = (
            state.resident_action_en
            if english and state.resident_action_en
            else state.resident_action_ja
        )
        final = state.final
    return PublicStatus(
        receipt_number=receipt,
        receipt_display=receipt_number_display(receipt),
        procedure_name=definition.name_en if english and definition.name_en else definition.name_ja,
        state=application.state,
        state_label=label,
        state_changed_at=application.state_changed_at,
        submitted_at=application.submitted_at,
        expected_completion=None if final else application.due_date,
        resident_action=action,
        public_message=application.public_message,
        is_final=final,
        application_id=application.pk,
    )


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """Looks at the application by staff of one department for one purpose on one day, as the
    resident is shown them (no names): a clerk's ordinary work opens the page many times."""

    day: datetime.date
    department: str
    purpose: str
    count: int
    first_at: datetime.datetime
    last_at: datetime.datetime


def status_accesses(*, municipality: Municipality, application_id: int) -> list[AccessRecord]:
    """Who looked at the application, grouped by day, department and purpose, oldest first."""
    entries = audit_entries_for_object(
        municipality=municipality,
        object_type="procedures.application",
        object_id=str(application_id),
        kind=EntryKind.ACCESS,
    )
    groups: dict[tuple[datetime.date, str, str], AccessRecord] = {}
    for entry in entries.only("created_at", "department_label", "purpose"):
        key = (timezone.localdate(entry.created_at), entry.department_label or "—", entry.purpose)
        seen = groups.get(key)
        groups[key] = AccessRecord(
            day=key[0],
            department=key[1],
            purpose=key[2],
            count=seen.count + 1 if seen else 1,
            first_at=seen.first_at if seen else entry.created_at,
            last_at=entry.created_at,
        )
    return list(groups.values())
