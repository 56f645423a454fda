"""LINE linking codes: their format, how a message is read as one, and issuing them.

A code is 8 characters of an alphabet without look-alikes, with at least one letter and one
digit, shown as ``ACDE-2345``. It is stored only as a keyed hash, is single use, valid for 24
hours (never beyond its report link), and replaces the household link's unused one. Patients
issue one on their report page, health-centre staff on the case page. Linking a LINE user with
a code is in :mod:`madoguchi.surveillance.linelink`.
"""

from __future__ import annotations

import datetime
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Final

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.selectors import line_channel_active
from madoguchi.core.crypto import blind_index
from madoguchi.core.ratelimit import ratelimit_hit
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, LineLinkCode, ReportLink
from madoguchi.surveillance.reports import household_link_issue, report_link_resolve
from madoguchi.tenants.models import Municipality

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "CODE_LIFETIME",
    "ISSUE_LIMIT",
    "SEPARATORS",
    "IssuedCode",
    "code_display",
    "code_hash",
    "code_new",
    "code_parse",
    "line_code_issue_for_case",
    "line_code_issue_for_token",
    "line_linking_available",
]

# Without 0 O 1 I L 8 B S Z U V: no character a patient could read as another one.
CODE_ALPHABET: Final = "2345679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH: Final = 8
CODE_LIFETIME: Final = datetime.timedelta(hours=24)
# Issuing, per household link and hour.
ISSUE_LIMIT: Final = (10, 3600)
_PREFIX = re.compile(r"^(?:LINE\s*)?(?:連携|れんけい)(?:コード)?\s*[:：]?")
# What patients put between the characters of a code or a word (spaces, dashes, brackets).
SEPARATORS: Final = re.compile(r"[\s\-‐‑‒–—―ー−「」『』（）()]")


def line_linking_available(*, municipality: Municipality) -> bool:
    """Whether patients of ``municipality``'s cases can link LINE (its official account is on)."""
    return line_channel_active(municipality=municipality)


def code_hash(code: str) -> str:
    return blind_index(code, purpose="surveillance.line_code")


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
    rest = SEPARATORS.sub("", compact[prefixed.end() :] if prefixed else compact)
    if len(rest) != CODE_LENGTH or not rest.isascii() or not rest.isalnum():
        return None
    if prefixed:
        return rest
    if all(c in CODE_ALPHABET for c in rest) and not rest.isdigit() and not rest.isalpha():
        return rest
    return None


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str  # as shown: ACDE-2345
    expires_at: datetime.datetime
    token: str  # the report-link token the code leads to


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
                    code_hash=code_hash(code),
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
    issued = household_link_issue(case=case, actor=actor, now=now)
    return _issue(link=issued.link, token=issued.token, actor=actor, now=now)
