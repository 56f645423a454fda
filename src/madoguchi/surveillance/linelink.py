"""Daily self-reports on LINE: one-time linking codes, replies with the link, morning reminders.

A household's report link (:class:`ReportLink`) is linked to a LINE account when the patient
sends a one-time code to the official account of the body that owns the case. The code is
short, random, stored as a keyed hash, single use, valid for 24 hours, and guessing is limited
per LINE user and per body. Linked users get their link back by sending 「体調報告」 and a
push each morning while they have not reported; links that expired are unlinked.

The LINE platform is reached through :mod:`madoguchi.consultation` (its channel settings and
its Messaging API client), through that app's selectors and services only.
"""

from __future__ import annotations

import datetime
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Final

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.selectors import line_channel_active
from madoguchi.consultation.services import line_push
from madoguchi.core.crypto import blind_index
from madoguchi.core.ratelimit import ratelimit_hit, ratelimit_peek
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import (
    Case,
    CaseStatus,
    HealthCentre,
    LineLinkCode,
    LineReportLink,
    ReportLink,
)
from madoguchi.surveillance.notify import report_link_url
from madoguchi.surveillance.reports import report_link_issue, report_link_resolve
from madoguchi.tenants.models import Municipality

__all__ = [
    "CODE_ALPHABET",
    "REPORT_POSTBACK",
    "IssuedCode",
    "LineAnswer",
    "line_code_issue_for_case",
    "line_code_issue_for_token",
    "line_link_with_code",
    "line_linking_available",
    "line_message_handle",
    "line_postback_handle",
    "line_reminders_send",
    "line_report_link_reply",
]

# Without 0 O 1 I L 8 B S Z U V: no character a patient could read as another one.
CODE_ALPHABET: Final = "2345679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH: Final = 8
CODE_LIFETIME: Final = datetime.timedelta(hours=24)
# Issuing: per household link. Guessing: failures per LINE user and per body, per hour.
ISSUE_LIMIT: Final = (10, 3600)
FAILURE_LIMIT_USER: Final = (5, 3600)
FAILURE_LIMIT_BODY: Final = (200, 3600)
REPORT_POSTBACK: Final = "health:report"
_REPORT_WORDS: Final = frozenset({"体調報告", "体調の報告", "健康観察", "報告リンク"})
_PREFIX = re.compile(r"^(?:LINE\s*)?(?:連携|れんけい)(?:コード)?\s*[:：]?")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―ー−「」『』（）()]")
_LINE_ACTOR = AuditActor(label="line")


def line_linking_available(*, municipality: Municipality) -> bool:
    """Whether patients of ``municipality``'s cases can link LINE (its official account is on)."""
    return line_channel_active(municipality=municipality)


def _code_hash(code: str) -> str:
    return blind_index(code, purpose="surveillance.line_code")


def _user_key(line_user_id: str) -> str:
    # The same index LineReportLink.line_user_key computes on save.
    return blind_index(line_user_id, purpose="surveillance.line_user")


def code_display(code: str) -> str:
    """``ACDE2345`` shown as ``ACDE-2345``."""
    return f"{code[:4]}-{code[4:]}"


def code_new() -> str:
    """A random code with at least one letter and one digit (so a plain message is told apart)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code


def code_parse(text: str) -> str | None:
    """The code in a LINE message, or None when the message is not a linking attempt.

    Accepted: the code alone (``ACDE-2345``, with or without the hyphen or spaces, 全角 or
    lower case) or after 「連携」 (``連携 ACDE-2345``). After 「連携」 any eight letters or
    digits are an attempt; alone, only eight characters of the code alphabet with both a
    letter and a digit are, so that ordinary questions still reach the assistant.
    """
    compact = unicodedata.normalize("NFKC", text or "").upper().strip()
    if len(compact) > 40:
        return None
    prefixed = _PREFIX.match(compact)
    rest = _SEPARATORS.sub("", compact[prefixed.end() :] if prefixed else compact)
    if len(rest) != CODE_LENGTH or not rest.isascii() or not rest.isalnum():
        return None
    if prefixed:
        return rest
    if all(c in CODE_ALPHABET for c in rest) and not rest.isdigit() and not rest.isalpha():
        return rest
    return None


def _is_report_request(text: str) -> bool:
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    return compact.rstrip("。！!?？") in _REPORT_WORDS


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """What to reply on LINE: a text, links (label, URL) and buttons (label, postback data)."""

    text: str
    links: tuple[tuple[str, str], ...] = ()
    actions: tuple[tuple[str, str], ...] = ()
    code: ErrorCode | None = None  # why a linking attempt was refused; None when it was not


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str  # as shown: ACDE-2345
    expires_at: datetime.datetime
    token: str  # the report-link token the code leads to


# ---------------------------------------------------------------------------------------- codes


def _issue(
    *, link: ReportLink, token: str, actor: AuditActor, now: datetime.datetime
) -> IssuedCode:
    municipality = link.municipality
    if not line_linking_available(municipality=municipality):
        raise SurveillanceError(
            ErrorCode.LINE_UNAVAILABLE,
            _("この自治体では、LINEでの体調報告の受付を行っていません。"),
        )
    if link.expires_at <= now:
        raise SurveillanceError(
            ErrorCode.LINK_EXPIRED, _("療養期間が終わっているため発行できません。")
        )
    limit, window = ISSUE_LIMIT
    if not ratelimit_hit(
        f"surveillance.line_code_issue:{link.pk}", limit=limit, window_seconds=window
    ).allowed:
        raise SurveillanceError(
            ErrorCode.RATE_LIMITED,
            _(
                "連携コードの発行が続いたため、しばらく発行できません。1時間ほどたってからお試しください。"
            ),
        )
    # One live code per link: a new one replaces any that was not used.
    LineLinkCode.objects.filter(report_link=link, used_at__isnull=True).delete()
    expires_at = min(now + CODE_LIFETIME, link.expires_at)
    for _attempt in range(5):
        code = code_new()
        try:
            with transaction.atomic():
                row = LineLinkCode.objects.create(
                    municipality=municipality,
                    report_link=link,
                    code_hash=_code_hash(code),
                    token=token,
                    expires_at=expires_at,
                )
        except IntegrityError:  # the same code is live elsewhere: draw again
            continue
        audit_event(
            municipality=municipality,
            action="surveillance.line_code_issued",
            actor=actor,
            obj=row,
            data={"report_link": link.pk, "expires_at": expires_at.isoformat()},
        )
        return IssuedCode(code_display(code), expires_at, token)
    raise RuntimeError("could not draw an unused linking code")


@transaction.atomic
def line_code_issue_for_token(
    *,
    municipality: Municipality,
    token: str,
    actor: AuditActor,
    now: datetime.datetime | None = None,
) -> IssuedCode:
    """A linking code for the household link ``token`` (the patient's own page).

    Refused (:class:`SurveillanceError`) when the link is unknown or expired, when the body has
    no LINE official account, or after too many codes in an hour.
    """
    now = now or timezone.now()
    link = report_link_resolve(municipality=municipality, token=token, now=now)
    return _issue(link=link, token=token, actor=actor, now=now)


@transaction.atomic
def line_code_issue_for_case(
    *, case: Case, actor: AuditActor, now: datetime.datetime | None = None
) -> IssuedCode:
    """A linking code for a case's household, issued by health-centre staff.

    The link's token is stored only as a hash, so a fresh link is issued for the household
    (the cases sharing the case's link, or the case alone); the earlier link stops working.
    """
    now = now or timezone.now()
    if not line_linking_available(municipality=case.municipality):
        raise SurveillanceError(
            ErrorCode.LINE_UNAVAILABLE,
            _("この自治体では、LINEでの体調報告の受付を行っていません。"),
        )
    household = [case]
    if case.report_link_id is not None:
        household = list(
            Case.objects.filter(
                report_link_id=case.report_link_id, municipality_id=case.municipality_id
            ).order_by("pk")
        ) or [case]
    if all(c.observation_end < timezone.localdate(now) for c in household):
        raise SurveillanceError(
            ErrorCode.LINK_EXPIRED, _("療養期間が終わっているため発行できません。")
        )
    token = report_link_issue(cases=household, actor=actor)
    link = household[0].report_link
    assert link is not None
    return _issue(link=link, token=token, actor=actor, now=now)


# -------------------------------------------------------------------------------------- linking


def _failure_keys(municipality: Municipality, user_key: str) -> list[tuple[str, int, int]]:
    return [
        (f"surveillance.line_link:user:{user_key[:32]}", *FAILURE_LIMIT_USER),
        (f"surveillance.line_link:body:{municipality.pk}", *FAILURE_LIMIT_BODY),
    ]


def _refuse(keys: list[tuple[str, int, int]], code: ErrorCode, text: str) -> LineAnswer:
    for key, limit, window in keys:
        ratelimit_hit(key, limit=limit, window_seconds=window)
    return LineAnswer(text, code=code)


def _report_actions() -> tuple[tuple[str, str], ...]:
    return ((_("体調報告"), REPORT_POSTBACK),)


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
        .filter(municipality=municipality, code_hash=_code_hash(code))
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
        actor=_LINE_ACTOR,
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
        actions=_report_actions(),
    )


def _unlink(linked: LineReportLink, reason: str) -> None:
    audit_event(
        municipality=linked.municipality,
        action="surveillance.line_unlinked",
        actor=_LINE_ACTOR,
        obj=linked,
        data={"report_link": linked.report_link_id, "reason": reason},
    )
    linked.delete()


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
            _unlink(row, "expired")
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
    if not line_user_id or not _runs_health_centre(municipality):
        return None
    if _is_report_request(text):
        return line_report_link_reply(municipality=municipality, line_user_id=line_user_id)
    code = code_parse(text)
    if code is None:
        return None
    return line_link_with_code(municipality=municipality, line_user_id=line_user_id, code=code)


def line_postback_handle(
    *, municipality: Municipality, line_user_id: str, data: str
) -> LineAnswer | None:
    """The answer to the 「体調報告」 button (postback ``health:report``); None for others."""
    if data != REPORT_POSTBACK or not line_user_id or not _runs_health_centre(municipality):
        return None
    return line_report_link_reply(municipality=municipality, line_user_id=line_user_id)


# ------------------------------------------------------------------------------------ reminders


def _unlink_expired(*, municipality: Municipality, now: datetime.datetime) -> int:
    with_cases = Case.objects.filter(report_link=OuterRef("report_link"))
    expired = (
        LineReportLink.objects.filter(municipality=municipality)
        .filter(Q(report_link__expires_at__lte=now) | ~Exists(with_cases))
        .select_related("municipality")
    )
    count = 0
    for row in expired:
        with transaction.atomic():
            _unlink(row, "expired")
        count += 1
    return count


def line_reminders_send(
    *,
    municipality: Municipality,
    day: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> int:
    """Push the morning reminder to each linked user whose household has not reported on ``day``.

    Only households with a case under observation on ``day`` (after day 0) without a report
    that day are reminded, each at most once a day: running it again sends nothing new. Links
    that expired are unlinked first. Returns the number of pushes sent.
    """
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    _unlink_expired(municipality=municipality, now=now)
    if not line_linking_available(municipality=municipality):
        return 0
    pending = Case.objects.filter(
        report_link=OuterRef("report_link"),
        municipality=municipality,
        status=CaseStatus.OBSERVING,
        day_zero__lt=day,
        observation_end__gte=day,
    ).exclude(reports__report_date=day)
    due = (
        LineReportLink.objects.filter(municipality=municipality, report_link__expires_at__gt=now)
        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=day))
        .filter(Exists(pending))
        .order_by("pk")
    )
    sent = 0
    for row in due:
        previous = row.reminded_on
        claimed = (
            LineReportLink.objects.filter(pk=row.pk)
            .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=day))
            .update(reminded_on=day)
        )
        if not claimed:  # another run took it
            continue
        if _push_reminder(municipality=municipality, row=row, day=day):
            sent += 1
        else:  # give a later run today the chance to try again
            LineReportLink.objects.filter(pk=row.pk, reminded_on=day).update(reminded_on=previous)
    if sent:
        audit_event(
            municipality=municipality,
            action="surveillance.line_reminders_sent",
            actor=AuditActor(label="cli"),
            object_type="surveillance.linereportlink",
            object_id=day.isoformat(),
            data={"day": day.isoformat(), "sent": sent},
        )
    return sent


def _push_reminder(*, municipality: Municipality, row: LineReportLink, day: datetime.date) -> bool:
    case = (
        Case.objects.filter(report_link_id=row.report_link_id, municipality=municipality)
        .select_related("health_centre")
        .order_by("pk")
        .first()
    )
    phone = case.health_centre.urgent_phone if case is not None else ""
    text = _("おはようございます。今日の体調の報告をお願いします。")
    if phone:
        text += "\n" + _(
            "息が苦しいなど急な変化があれば、報告を待たずに %(phone)s にお電話ください。"
        ) % {"phone": phone}
    url = report_link_url(municipality_slug=municipality.slug, token=row.token)
    return line_push(
        municipality=municipality,
        to=row.line_user_id,
        text=text,
        links=((_("今日の体調を報告する"), url),),
        actions=_report_actions(),
        retry_key=str(uuid.uuid5(uuid.NAMESPACE_URL, f"madoguchi:line-reminder:{row.pk}:{day}")),
    )
