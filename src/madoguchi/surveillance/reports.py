"""Daily self-reports by token link, and the alert rules they trigger."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.events import DomainEvent, event_publish
from madoguchi.surveillance.diseases import DISEASES, disease_codes
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Alert, Case, CaseStatus, ReportLink, SelfReport
from madoguchi.surveillance.rules import REPORT_ITEMS, URGENT_SIGNS, alert_rule
from madoguchi.tenants.models import Municipality

ANSWERS = frozenset({"yes", "no", "unknown"})
TEMPERATURE_RANGE = (Decimal("34.0"), Decimal("42.0"))
SPO2_RANGE = (50, 100)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The first moment after ``day`` in local time."""
    midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    return timezone.make_aware(midnight)


@transaction.atomic
def report_link_issue(*, cases: Sequence[Case], actor: AuditActor) -> str:
    """A new self-report link for a household's cases; returns the token (shown once).

    The link expires at the end of the latest observation period among the cases. Refused
    for a disease without daily self-reports (麻しん).
    """
    assert cases, "a link needs at least one case"
    if any(not DISEASES[c.disease].self_reports for c in cases):
        raise SurveillanceError(
            ErrorCode.NOT_FOR_DISEASE,
            _("この疾患では、毎日の体調報告（健康観察の報告）を受け付けていません。"),
        )
    municipality_id = cases[0].municipality_id
    assert all(c.municipality_id == municipality_id for c in cases)
    token = secrets.token_urlsafe(24)
    link = ReportLink.objects.create(
        municipality_id=municipality_id,
        token_hash=_hash(token),
        expires_at=end_of_day(max(c.observation_end for c in cases)),
    )
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(report_link=link)
    for case in cases:
        case.report_link = link
    audit_event(
        municipality=cases[0].municipality,
        action="surveillance.report_link_issued",
        actor=actor,
        obj=link,
        data={"cases": [c.pk for c in cases]},
    )
    return token


@dataclass(frozen=True, slots=True)
class HouseholdLink:
    cases: list[Case]
    link: ReportLink
    token: str  # shown once, never stored in clear


def household_link_issue(*, case: Case, actor: AuditActor, now: datetime.datetime) -> HouseholdLink:
    """A fresh link for ``case``'s household: the cases sharing its link, or the case alone.

    The link's token is stored only as a hash, so the earlier link stops working. Refused when
    every case of the household has ended its observation.
    """
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
    return HouseholdLink(household, link, token)


def report_link_resolve(
    *, municipality: Municipality, token: str, now: datetime.datetime | None = None
) -> ReportLink:
    """The link for ``token`` in ``municipality``; refused when unknown, foreign or expired."""
    link = ReportLink.objects.filter(municipality=municipality, token_hash=_hash(token)).first()
    if link is None:
        raise SurveillanceError(
            ErrorCode.LINK_UNKNOWN,
            _("このリンクは使えません。保健所から届いたリンクをもう一度お確かめください。"),
        )
    if link.expires_at <= (now or timezone.now()):
        raise SurveillanceError(
            ErrorCode.LINK_EXPIRED,
            _("療養期間が終わったため、このリンクの有効期限が切れています。"),
        )
    return link


def temperature_read(raw: str) -> Decimal:
    """The temperature in ℃; three digits without a point (365) are read as 36.5.

    Only when that is the one reading in range: 365℃ and 3.65℃ are not body temperatures, so
    365 can only mean 36.5. Four digits (3650), two out of range (45) and text are refused.
    """
    text = unicodedata.normalize("NFKC", raw).strip().replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    if len(text) == 3 and text.isascii() and text.isdigit():
        value = Decimal(text) / 10
    if not value.is_finite() or not TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1]:
        raise SurveillanceError(
            ErrorCode.OUT_OF_RANGE,
            _("体温は 36.5 のように、小数点を付けて入力してください（34.0から42.0の間）。"),
            field="temperature",
        )
    return value.quantize(Decimal("0.1"))


def spo2_read(raw: str) -> int | None:
    if not raw.strip():
        return None
    if not raw.strip().isdigit() or not SPO2_RANGE[0] <= int(raw) <= SPO2_RANGE[1]:
        raise SurveillanceError(
            ErrorCode.OUT_OF_RANGE, _("SpO2は50から100の数字で入力してください。"), field="spo2"
        )
    return int(raw)


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    report: SelfReport
    urgent: bool
    alerts: list[Alert]


@transaction.atomic
def self_report_submit(
    *,
    link: ReportLink,
    case: Case,
    day: datetime.date,
    values: Mapping[str, str],
    urgent_signs: Sequence[str],
    message: str = "",
) -> ReportOutcome:
    """Store one day's report for ``case`` (an edit the same day replaces it), then check alerts.

    ``values`` holds ``temperature``, ``spo2`` and yes/no/unknown answers; bad values are
    refused before anything is stored.
    """
    if case.report_link_id != link.pk or case.municipality_id != link.municipality_id:
        raise SurveillanceError(ErrorCode.LINK_UNKNOWN, _("このリンクでは報告できない方です。"))
    temperature = temperature_read(values.get("temperature", ""))
    spo2 = spo2_read(values.get("spo2", ""))
    answers: dict[str, str] = {}
    for key, _label in REPORT_ITEMS:
        answer = values.get(key, "unknown") or "unknown"
        if answer not in ANSWERS:
            raise SurveillanceError(
                ErrorCode.OUT_OF_RANGE, _("選択肢から選んでください。"), field=key
            )
        answers[key] = answer
    known = {code for code, _label in URGENT_SIGNS}
    signs = sorted(set(urgent_signs) & known)
    items = {
        "temperature": str(temperature),
        "spo2": spo2,
        "answers": answers,
        "urgent_signs": signs,
        "message": message.strip()[:1000],
    }
    report, _created = SelfReport.objects.update_or_create(
        case=case,
        report_date=day,
        defaults={"municipality_id": case.municipality_id, "items": items},
    )
    alerts = _check_alerts(case=case, day=day, items=items)
    return ReportOutcome(report=report, urgent=bool(signs), alerts=alerts)


def _raise(case: Case, code: str, day: datetime.date) -> Alert | None:
    rule = alert_rule(code, on=day)
    if rule is None:
        return None
    try:
        with transaction.atomic():
            alert, created = Alert.objects.get_or_create(
                case=case,
                rule_code=code,
                day=day,
                defaults={"municipality_id": case.municipality_id, "severity": rule.severity},
            )
    except IntegrityError:  # raised concurrently by another report of the same day
        return None
    if not created:
        return None
    event_publish(
        DomainEvent(
            municipality_id=case.municipality_id,
            type="alert.raised",
            subject=f"alerts/{alert.pk}",
            data={"alert": alert.pk, "case": case.pk, "rule": code, "day": day.isoformat()},
        )
    )
    return alert


def _check_alerts(*, case: Case, day: datetime.date, items: Mapping[str, object]) -> list[Alert]:
    raised: list[Alert | None] = []
    if items["urgent_signs"]:
        raised.append(_raise(case, "urgent_sign", day))
    spo2_rule = alert_rule("spo2_low", on=day)
    spo2 = items["spo2"]
    if spo2_rule is not None and isinstance(spo2, int) and spo2 <= spo2_rule.spo2_at_most:
        raised.append(_raise(case, "spo2_low", day))
    fever = alert_rule("fever_3days", on=day)
    if fever is not None:
        since = day - datetime.timedelta(days=fever.fever_days - 1)
        reports = SelfReport.objects.filter(case=case, report_date__gte=since, report_date__lte=day)
        hot = {
            r.report_date
            for r in reports
            if Decimal(str(r.items["temperature"])) >= Decimal(str(fever.fever_at_least))
        }
        if len(hot) >= fever.fever_days:
            raised.append(_raise(case, "fever_3days", day))
    return [a for a in raised if a is not None]


def alerts_raise_missing(*, municipality: Municipality, day: datetime.date) -> int:
    """Raise "no report by the deadline" for every observed case without a report on ``day``.

    Only cases of a disease with daily self-reports are expected to report.
    """
    rule = alert_rule("no_report", on=day)
    if rule is None:
        return 0
    cases = Case.objects.filter(
        municipality=municipality,
        disease__in=disease_codes(self_reports=True),
        status=CaseStatus.OBSERVING,
        day_zero__lt=day,
        observation_end__gte=day,
    ).exclude(reports__report_date=day)
    return sum(1 for case in cases if _raise(case, "no_report", day) is not None)


@transaction.atomic
def alert_acknowledge(*, alert: Alert, note: str, actor: AuditActor) -> Alert:
    """Acknowledge an alert; a note of what was done is required."""
    if not note.strip():
        raise SurveillanceError(
            ErrorCode.NOTE_REQUIRED, _("対応の内容を記録してください。"), field="note"
        )
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor.user
        alert.note = note.strip()[:2000]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
        audit_event(
            municipality=alert.case.municipality,
            action="surveillance.alert_acknowledged",
            actor=actor,
            obj=alert,
            data={"case": alert.case_id, "rule": alert.rule_code},
        )
    return alert
