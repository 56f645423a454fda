"""The morning LINE reminder, and the end of a LINE link.

Each morning a linked user whose household has a case under observation without that day's
report gets one push; links whose report link expired (or whose cases moved to another link)
are unlinked first. Unlinking is audited, here and when a patient asks for a link that
expired (:mod:`madoguchi.surveillance.linelink`).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Final

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.linecodes import line_linking_available
from madoguchi.surveillance.models import Case, CaseStatus, LineReportLink
from madoguchi.surveillance.notify import report_link_url
from madoguchi.surveillance.selectors import urgent_contact
from madoguchi.tenants.models import Municipality

__all__ = [
    "LINE_ACTOR",
    "REPORT_POSTBACK",
    "line_reminders_send",
    "line_unlink",
    "report_actions",
]

REPORT_POSTBACK: Final = "health:report"
LINE_ACTOR: Final = AuditActor(label="line")


def report_actions() -> tuple[tuple[str, str], ...]:
    """The 「体調報告」 button, on the reminder and on the replies to a linked user."""
    return ((_("体調報告"), REPORT_POSTBACK),)


def line_unlink(linked: LineReportLink, reason: str) -> None:
    """Remove a LINE link (the user id is not recorded in the audit event)."""
    audit_event(
        municipality=linked.municipality,
        action="surveillance.line_unlinked",
        actor=LINE_ACTOR,
        obj=linked,
        data={"report_link": linked.report_link_id, "reason": reason},
    )
    linked.delete()


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
            line_unlink(row, "expired")
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
    """Push the reminder through messaging's notification path (logged, retried)."""
    from madoguchi.messaging.notices import NoticeKind, notice_send

    case = (
        Case.objects.filter(report_link_id=row.report_link_id, municipality=municipality)
        .select_related("health_centre")
        .order_by("pk")
        .first()
    )
    urgent = urgent_contact(centre=case.health_centre) if case is not None else None
    phone = urgent.text if urgent is not None else ""
    note = ""
    if phone:
        note = "\n" + _(
            "息が苦しいなど急な変化があれば、報告を待たずに %(phone)s にお電話ください。"
        ) % {"phone": phone}
    result = notice_send(
        municipality=municipality,
        kind=NoticeKind.REPORT_REMINDER,
        to=row.line_user_id,
        values={
            "municipality": municipality.name,
            "urgent_contact": note,
            "url": report_link_url(municipality_slug=municipality.slug, token=row.token),
        },
        dedupe_key=f"surveillance.line-reminder:{row.pk}:{day.isoformat()}",
        retry_key=str(uuid.uuid5(uuid.NAMESPACE_URL, f"madoguchi:line-reminder:{row.pk}:{day}")),
        actions=report_actions(),
    )
    return result.sent
