"""Daily self-reports on LINE: linking a LINE user with a code, and the replies.

A household's report link (:class:`ReportLink`) is linked to a LINE account when the patient
sends a one-time code (:mod:`madoguchi.surveillance.linecodes`) to the official account of the
body that owns the case; guessing is limited per LINE user and per body. Linked users get their
link back by sending 「体調報告」; the morning reminder and the unlinking of expired links are
in :mod:`madoguchi.surveillance.linereminders`. The public names of both are re-exported here,
the LINE feature's one entry point.

The LINE platform is reached through :mod:`madoguchi.consultation` (its channel settings and
its Messaging API client), through that app's selectors and services only.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from typing import Final

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import audit_event
from madoguchi.core.crypto import blind_index
from madoguchi.core.ratelimit import ratelimit_hit, ratelimit_peek
from madoguchi.surveillance.errors import ErrorCode
from madoguchi.surveillance.linecodes import (
    CODE_ALPHABET,
    ISSUE_LIMIT,
    SEPARATORS,
    IssuedCode,
    code_display,
    code_hash,
    code_new,
    code_parse,
    line_code_issue_for_case,
    line_code_issue_for_token,
    line_linking_available,
)
from madoguchi.surveillance.linereminders import (
    LINE_ACTOR,
    REPORT_POSTBACK,
    line_reminders_send,
    line_unlink,
    report_actions,
)
from madoguchi.surveillance.models import HealthCentre, LineLinkCode, LineReportLink
from madoguchi.surveillance.notify import report_link_url
from madoguchi.tenants.models import Municipality

__all__ = [
    "CODE_ALPHABET",
    "FAILURE_LIMIT_BODY",
    "FAILURE_LIMIT_USER",
    "ISSUE_LIMIT",
    "REPORT_POSTBACK",
    "IssuedCode",
    "LineAnswer",
    "code_display",
    "code_new",
    "code_parse",
    "line_code_issue_for_case",
    "line_code_issue_for_token",
    "line_link_with_code",
    "line_linking_available",
    "line_message_handle",
    "line_postback_handle",
    "line_reminders_send",
    "line_report_link_reply",
]

# Guessing: failures per LINE user and per body, per hour.
FAILURE_LIMIT_USER: Final = (5, 3600)
FAILURE_LIMIT_BODY: Final = (200, 3600)
_REPORT_WORDS: Final = frozenset({"体調報告", "体調の報告", "健康観察", "報告リンク"})


def _user_key(line_user_id: str) -> str:
    # The same index LineReportLink.line_user_key computes on save.
    return blind_index(line_user_id, purpose="surveillance.line_user")


def _is_report_request(text: str) -> bool:
    compact = SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    return compact.rstrip("。！!?？") in _REPORT_WORDS


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """What to reply on LINE: a text, links (label, URL) and buttons (label, postback data)."""

    text: str
    links: tuple[tuple[str, str], ...] = ()
    actions: tuple[tuple[str, str], ...] = ()
    code: ErrorCode | None = None  # why a linking attempt was refused; None when it was not


def _failure_keys(municipality: Municipality, user_key: str) -> list[tuple[str, int, int]]:
    return [
        (f"surveillance.line_link:user:{user_key[:32]}", *FAILURE_LIMIT_USER),
        (f"surveillance.line_link:body:{municipality.pk}", *FAILURE_LIMIT_BODY),
    ]


def _refuse(keys: list[tuple[str, int, int]], code: ErrorCode, text: str) -> LineAnswer:
    for key, limit, window in keys:
        ratelimit_hit(key, limit=limit, window_seconds=window)
    return LineAnswer(text, code=code)


@transaction.atomic
def line_link_with_code(
    *,
    municipality: Municipality,
    line_user_id: str,
    code: str,
    now: datetime.datetime | None = None,
) -> LineAnswer:
    """Link the LINE user to the household link of ``code`` (a code of this body only).

    A wrong, used or expired code links nothing and counts as a failure; after too many
    failures of the user (or of everyone writing to this body) every attempt is refused for
    the rest of the hour, the right code included.
    """
    now = now or timezone.now()
    user_key = _user_key(line_user_id)
    keys = _failure_keys(municipality, user_key)
    if not all(
        ratelimit_peek(key, limit=limit, window_seconds=window).allowed
        for key, limit, window in keys
    ):
        return LineAnswer(
            _(
                "コードの入力が続いたため、しばらく受け付けられません。1時間ほどたってから送ってください。"
            ),
            code=ErrorCode.RATE_LIMITED,
        )
    row = (
        LineLinkCode.objects.select_for_update()
        .filter(municipality=municipality, code_hash=code_hash(code))
        .select_related("report_link")
        .first()
    )
    if row is None:
        return _refuse(
            keys,
            ErrorCode.LINE_CODE_WRONG,
            _(
                "連携コードが正しくありません。保健所から案内された8文字のコードをお確かめください。"
            ),
        )
    if row.used_at is not None:
        return _refuse(
            keys,
            ErrorCode.LINE_CODE_USED,
            _(
                "この連携コードはすでに使われています。新しいコードを体調報告のページで発行してください。"
            ),
        )
    link = row.report_link
    if row.expires_at <= now or link.expires_at <= now or not link.cases.exists():
        return _refuse(
            keys,
            ErrorCode.LINE_CODE_EXPIRED,
            _(
                "この連携コードは有効期限が切れています。新しいコードを体調報告のページで発行してください。"
            ),
        )
    row.used_at = now
    row.save(update_fields=["used_at"])
    linked, created = LineReportLink.objects.update_or_create(
        report_link=link,
        line_user_key=user_key,
        defaults={"municipality": municipality, "line_user_id": line_user_id, "token": row.token},
    )
    audit_event(
        municipality=municipality,
        action="surveillance.line_linked",
        actor=LINE_ACTOR,
        obj=linked,
        data={"report_link": link.pk, "code": row.pk, "created": created},
    )
    url = report_link_url(municipality_slug=municipality.slug, token=row.token)
    return LineAnswer(
        _(
            "LINEとの連携が完了しました。療養期間中は、毎朝まだ報告していない日にこのLINEでお知らせします。"
            "「体調報告」と送ると、いつでも報告のリンクをお送りします。"
        ),
        links=((_("今日の体調を報告する"), url),),
        actions=report_actions(),
    )


def _live(linked: LineReportLink, now: datetime.datetime) -> bool:
    return linked.report_link.expires_at > now and linked.report_link.cases.exists()


@transaction.atomic
def line_report_link_reply(
    *, municipality: Municipality, line_user_id: str, now: datetime.datetime | None = None
) -> LineAnswer:
    """The answer to 「体調報告」: the user's live links; expired ones are unlinked."""
    now = now or timezone.now()
    rows = list(
        LineReportLink.objects.filter(
            municipality=municipality, line_user_key=_user_key(line_user_id)
        )
        .select_related("report_link", "municipality")
        .order_by("pk")
    )
    if not rows:
        return LineAnswer(
            _(
                "体調報告のリンクは、LINEと連携した方にお送りしています。"
                "保健所から案内された8文字の連携コード（例：連携 ACDE-2345）を送ってください。"
            )
        )
    live = [row for row in rows if _live(row, now)]
    for row in rows:
        if row not in live:
            line_unlink(row, "expired")
    if not live:
        return LineAnswer(
            _(
                "療養期間が終わったため、体調報告のリンクの有効期限が切れました。"
                "LINEでのお知らせも終了しました。お大事になさってください。"
            )
        )
    links = tuple(
        (
            _("体調を報告する") if len(live) == 1 else _("体調を報告する（%(n)d）") % {"n": n},
            report_link_url(municipality_slug=municipality.slug, token=row.token),
        )
        for n, row in enumerate(live, start=1)
    )
    return LineAnswer(_("今日の体調は、次のリンクから報告してください。"), links=links)


def _runs_health_centre(municipality: Municipality) -> bool:
    return HealthCentre.objects.filter(municipality=municipality).exists()


def line_message_handle(
    *, municipality: Municipality, line_user_id: str, text: str
) -> LineAnswer | None:
    """The answer to a LINE text that is a linking code or 「体調報告」; None for anything else.

    A body without a health centre has no cases: its messages all go to the assistant.
    """
    # The text is looked at first: most messages are questions for the assistant, and they
    # should not cost a query here.
    report = _is_report_request(text)
    code = None if report else code_parse(text)
    if not (report or code) or not line_user_id or not _runs_health_centre(municipality):
        return None
    if code is None:
        return line_report_link_reply(municipality=municipality, line_user_id=line_user_id)
    return line_link_with_code(municipality=municipality, line_user_id=line_user_id, code=code)


def line_postback_handle(
    *, municipality: Municipality, line_user_id: str, data: str
) -> LineAnswer | None:
    """The answer to the 「体調報告」 button (postback ``health:report``); None for others."""
    if data != REPORT_POSTBACK or not line_user_id or not _runs_health_centre(municipality):
        return None
    return line_report_link_reply(municipality=municipality, line_user_id=line_user_id)
