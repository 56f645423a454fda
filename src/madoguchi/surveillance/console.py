"""Health-centre pages: case list, nurses' worklist, the case page, the 療養証明書.

Every case view is audited.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.audit.services import AuditActor, audit_access
from madoguchi.surveillance import (
    behaviour,
    casework,
    certificate,
    contacts,
    publish,
    selectors,
    services,
)
from madoguchi.surveillance.access import (
    CASE_READ_PURPOSE,
    CentreContext,
    case_read_record,
    case_url,
    centre_actor,
    centre_case_view,
    centre_view,
)
from madoguchi.surveillance.diseases import DISEASE_CHOICES, DISEASES
from madoguchi.surveillance.errors import ErrorCode, SurveillanceError
from madoguchi.surveillance.models import Case, FollowUpStatus
from madoguchi.surveillance.rules import AGE_BANDS, REPORT_ITEMS, URGENT_SIGNS, alert_label
from madoguchi.tenants.models import Municipality


@require_safe
@centre_view
def case_list(request: HttpRequest, municipality: Municipality, ctx: CentreContext) -> HttpResponse:
    follow_up = request.GET.get("follow_up", "")
    if follow_up not in FollowUpStatus.values:
        follow_up = ""
    disease = request.GET.get("disease", "")
    if disease not in DISEASES:
        disease = ""
    page = Paginator(
        selectors.case_list(
            municipality=municipality, centres=ctx.centres, follow_up=follow_up, disease=disease
        ),
        50,
    ).get_page(request.GET.get("page"))
    # The list shows names: that is a view of each case's personal data, recorded per case so
    # that every case's own history (and the resident's "who looked") includes it.
    actor = centre_actor(ctx)
    with transaction.atomic():
        for case in page:
            audit_access(
                municipality=municipality,
                actor=actor,
                purpose=CASE_READ_PURPOSE,
                object_type="surveillance.case",
                object_id=str(case.pk),
                action="list",
            )
    return render(
        request,
        "surveillance/case_list.html",
        {
            "municipality": municipality,
            "page": page,
            "centres": ctx.centres,
            "follow_up": follow_up,
            "follow_up_statuses": FollowUpStatus.choices,
            "disease": disease,
            "diseases": DISEASE_CHOICES,
        },
    )


@require_safe
@centre_view
def worklist(request: HttpRequest, municipality: Municipality, ctx: CentreContext) -> HttpResponse:
    today = timezone.localdate()
    rows = selectors.worklist_rows(municipality=municipality, centres=ctx.centres)
    missing = list(
        selectors.not_reported(municipality=municipality, centres=ctx.centres, day=today)[:500]
    )
    audit_access(
        municipality=municipality,
        actor=centre_actor(ctx),
        purpose=CASE_READ_PURPOSE,
        object_type="surveillance.worklist",
        object_id=today.isoformat(),
        action="list",
    )
    return render(
        request,
        "surveillance/worklist.html",
        {
            "municipality": municipality,
            "rows": [(row, alert_label(row.rule_code)) for row in rows],
            "missing": missing,
            "today": today,
        },
    )


@require_http_methods(["GET", "POST"])
@centre_case_view
def case_detail(
    request: HttpRequest,
    municipality: Municipality,
    ctx: CentreContext,
    case: Case,
    actor: AuditActor,
) -> HttpResponse:
    error = ""
    error_field = ""
    token = ""
    if request.method == "POST":
        try:
            token = _act(request, case, actor)
        except SurveillanceError as exc:
            error, error_field = exc.message, exc.field
        else:
            if not token:
                if not selectors.case_get(
                    municipality=municipality, centres=ctx.centres, pk=case.pk
                ):
                    messages.success(request, _("移管しました。"))
                    return HttpResponseRedirect(
                        reverse(
                            "surveillance:cases", kwargs={"municipality_slug": municipality.slug}
                        )
                    )
                return HttpResponseRedirect(request.path)
    case_read_record(municipality=municipality, actor=actor, case=case)
    report_link = ""
    if token:
        report_link = request.build_absolute_uri(
            reverse(
                "surveillance:self-report",
                kwargs={"municipality_slug": municipality.slug, "token": token},
            )
        )
    urgent_labels = dict(URGENT_SIGNS)
    reports = [
        (r, [urgent_labels[s] for s in r.items["urgent_signs"] if s in urgent_labels])
        for r in case.reports.order_by("-report_date")[:30]
    ]
    disease = DISEASES[case.disease]
    kind = disease.disease_type(str(case.health.get("disease_type") or ""))
    return render(
        request,
        "surveillance/case_detail.html",
        {
            "municipality": municipality,
            "case": case,
            "disease": disease,
            "disease_type": kind.label if kind is not None else "",
            "notifications": case.notifications.select_related("clinic").order_by("submitted_at"),
            "reports": reports,
            "report_items": REPORT_ITEMS,
            "alerts": [(a, alert_label(a.rule_code)) for a in case.alerts.order_by("-created_at")],
            "transfers": case.transfers.select_related("from_centre", "to_centre"),
            "other_centres": selectors.transfer_targets(case=case),
            "error": error,
            "report_link": report_link,
            "line_linking": services.line_linking_available(municipality=municipality),
            "care_settings": casework.CareSetting.choices,
            "contacts": case.contacts.order_by("pk"),
            "contact_kinds": [(k.value, k.label) for k in contacts.contact_kinds(case)],
            "infectious_period": contacts.infectious_period(case),
            "severities": (
                casework.Severity.choices if disease.investigation.severity_by_spo2 else []
            ),
            "behaviour": _behaviour_rows(case),
            "place_kinds": behaviour.PlaceKind.choices,
            "time_bands": behaviour.TimeBand.choices,
            "precautions": behaviour.Precautions.choices,
            "behaviour_from": behaviour.behaviour_from(case),
            "follow_up_statuses": FollowUpStatus.choices,
            "certificates": selectors.case_certificates(case=case),
            "certificate_refusal": certificate.certificate_refusal(
                case=case, today=timezone.localdate()
            ),
            "error_field": error_field,
            "posted": request.POST if error else {},
        },
        status=400 if error else 200,
    )


def _act(request: HttpRequest, case: Case, actor: AuditActor) -> str:
    """Perform the POSTed action; returns a new report-link token when one was issued."""
    action = request.POST.get("action", "")
    if action == "acknowledge":
        alert = case.alerts.filter(pk=_int(request.POST.get("alert"))).first()
        if alert is None:
            raise SurveillanceError(ErrorCode.REQUIRED, _("アラートが見つかりません。"))
        services.alert_acknowledge(alert=alert, note=request.POST.get("note", ""), actor=actor)
        return ""
    if action == "transfer":
        centre = selectors.health_centre_get(pk=_int(request.POST.get("to_centre")))
        if centre is None:
            raise SurveillanceError(ErrorCode.REQUIRED, _("移管先の保健所を選んでください。"))
        services.case_transfer(
            case=case, to_centre=centre, reason=request.POST.get("reason", ""), actor=actor
        )
        return ""
    if action == "care":
        casework.case_care_update(
            case=case,
            care_setting=request.POST.get("care", ""),
            care_from=_day(request.POST.get("care_from", ""), "care_from"),
            severity=request.POST.get("severity", ""),
            improved_on=_day(request.POST.get("improved_on", ""), "improved_on"),
            actor=actor,
        )
        return ""
    if action == "contact":
        last = _day(request.POST.get("last_contact", ""), "last_contact")
        if last is None:
            raise SurveillanceError(
                ErrorCode.REQUIRED, _("最終接触日を入力してください。"), field="last_contact"
            )
        contacts.contact_add(
            case=case,
            data=contacts.ContactInput(
                name=request.POST.get("contact_name", "")[:100],
                phone=request.POST.get("contact_phone", "")[:20],
                relation=request.POST.get("relation", "other")[:20],
                last_contact=last,
                # Only the kinds the case's disease counts are on its form.
                **{
                    kind.value: request.POST.get(kind.value) == "1"
                    for kind in contacts.contact_kinds(case)
                },
            ),
            actor=actor,
            today=timezone.localdate(),
        )
        return ""
    if action == "behaviour":
        _behaviour_add(request, case, actor)
        return ""
    if action == "follow_up":
        casework.case_follow_up_set(
            case=case,
            status=request.POST.get("follow_up", ""),
            note=request.POST.get("follow_up_note", ""),
            actor=actor,
        )
        return ""
    if action == "issue_link":
        return services.report_link_issue(cases=[case], actor=actor)
    raise SurveillanceError(ErrorCode.REQUIRED, _("操作を選んでください。"))


def _behaviour_add(request: HttpRequest, case: Case, actor: AuditActor) -> None:
    day = _day(request.POST.get("behaviour_day", ""), "behaviour_day")
    if day is None:
        raise SurveillanceError(
            ErrorCode.REQUIRED, _("日付を入力してください。"), field="behaviour_day"
        )
    behaviour.behaviour_add(
        case=case,
        data=behaviour.BehaviourInput(
            day=day,
            place_kind=request.POST.get("place_kind", ""),
            description=request.POST.get("description", ""),
            precautions=request.POST.get("precautions", ""),
            time_band=request.POST.get("time_band", ""),
        ),
        actor=actor,
        today=timezone.localdate(),
    )


def _behaviour_rows(case: Case) -> list[tuple[object, str, str, str]]:
    """Each 行動歴 entry with the labels of its time band, kind of place and precautions."""
    bands = dict(behaviour.TimeBand.choices)
    places = dict(behaviour.PlaceKind.choices)
    precautions = dict(behaviour.Precautions.choices)
    return [
        (
            entry,
            str(bands.get(entry.details.get("time_band", ""), "")),
            str(places.get(entry.details.get("place_kind", ""), "")),
            str(precautions.get(entry.details.get("precautions", ""), "")),
        )
        for entry in selectors.behaviour_history(case=case)
    ]


def _day(raw: str, field: str) -> date | None:
    if not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise SurveillanceError(
            ErrorCode.DATE_ORDER, _("日付は 2026-11-20 の形で入力してください。"), field=field
        ) from None


def _int(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) < 18 else 0


@require_http_methods(["GET", "POST"])
@centre_view
def counts(request: HttpRequest, municipality: Municipality, ctx: CentreContext) -> HttpResponse:
    """Daily new cases by age band; the body's admin switches the four-groups rule and whether
    性別 is published here."""
    if request.method == "POST":
        if not ctx.staff.is_admin:
            return render(request, "403.html", status=403)
        if "publish_sex" in request.POST:
            publish.publish_sex_set(
                municipality=municipality,
                publish_sex=request.POST.get("publish_sex") == "1",
                actor=centre_actor(ctx),
            )
        else:
            services.surveillance_setting_set(
                municipality=municipality,
                four_groups_only=request.POST.get("four_groups_only") == "1",
                actor=centre_actor(ctx),
            )
        return HttpResponseRedirect(request.path)
    today = timezone.localdate()
    table = selectors.daily_counts_by_age_band(
        municipality=municipality, day_from=today - timedelta(days=13), day_to=today
    )
    return render(
        request,
        "surveillance/counts.html",
        {
            "municipality": municipality,
            "bands": AGE_BANDS,
            "rows": [(day, [bands.get(b, 0) for b in AGE_BANDS]) for day, bands in table.items()],
            "four_groups_only": selectors.four_groups_only(municipality=municipality),
            "publish_sex": selectors.publish_sex(municipality=municipality),
            "can_switch": ctx.staff.is_admin,
        },
    )


@require_http_methods(["GET", "POST"])
@centre_case_view
def certificate_pdf(
    request: HttpRequest,
    municipality: Municipality,
    ctx: CentreContext,
    case: Case,
    actor: AuditActor,
) -> HttpResponse:
    """療養証明書 as a PDF download. Issuing numbers and logs it, so only a POST issues one."""
    back_url = case_url(municipality, case)
    if request.method == "GET":
        return HttpResponseRedirect(f"{back_url}#certificate")
    try:
        issued = certificate.certificate_issue(case=case, actor=actor, today=timezone.localdate())
    except SurveillanceError as exc:
        return render(
            request,
            "surveillance/certificate_refused.html",
            {"municipality": municipality, "message": exc.message, "case_url": back_url},
            status=409,
        )
    response = HttpResponse(issued.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{issued.filename}"'
    response["Cache-Control"] = "no-store"
    return response
