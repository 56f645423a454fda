"""The printable report card: a fresh household self-report link, with its LINE linking code.

The link's token is stored only as a hash, so a card cannot show a link issued before: each
card issues a new link for the household (the cases sharing the case's link), and the earlier
link stops working. Issuing is a POST by health-centre staff and is recorded in the audit log.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.linecodes import (
    IssuedCode,
    line_code_issue_for_token,
    line_linking_available,
)
from madoguchi.surveillance.models import Case
from madoguchi.surveillance.reports import household_link_issue

__all__ = ["ReportCard", "report_card_issue"]


@dataclass(frozen=True, slots=True)
class ReportCard:
    token: str  # shown on the card only, never stored in clear
    cases: list[Case]
    expires_at: datetime.datetime
    line_code: IssuedCode | None


@transaction.atomic
def report_card_issue(
    *, case: Case, actor: AuditActor, now: datetime.datetime | None = None
) -> ReportCard:
    """A new link for ``case``'s household and, where the body has LINE, a linking code.

    Refused when every case of the household has ended its observation, or for a disease
    without daily self-reports.
    """
    now = now or timezone.now()
    issued = household_link_issue(case=case, actor=actor, now=now)
    household, link, token = issued.cases, issued.link, issued.token
    line_code = None
    if line_linking_available(municipality=case.municipality):
        line_code = line_code_issue_for_token(
            municipality=case.municipality, token=token, actor=actor, now=now
        )
    audit_event(
        municipality=case.municipality,
        action="surveillance.report_card_issued",
        actor=actor,
        obj=link,
        data={"cases": [c.pk for c in household], "line_code": line_code is not None},
    )
    return ReportCard(token, household, link.expires_at, line_code)
