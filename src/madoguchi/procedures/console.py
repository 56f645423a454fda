"""The staff console for applications: queues, the application page, actions, summary."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from madoguchi.accounts.models import User
from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.models import EntryKind
from madoguchi.audit.selectors import audit_entries_for_object
from madoguchi.audit.services import audit_access, audit_access_many
from madoguchi.core.crypto import blind_index
from madoguchi.core.japanese import normalize_text
from madoguchi.core.readonly import read_only_active
from madoguchi.procedures import selectors, slips, transfers, workflow
from madoguchi.procedures.attachments import attachment_response
from madoguchi.procedures.definitions import ProcedureDefinition, StateSpec
from madoguchi.procedures.history import applicant_name, state_change_actors
from madoguchi.procedures.jdates import DateParseError, parse_japanese_date
from madoguchi.procedures.models import Application, Attachment, StateChange, TransferAccount
from madoguchi.procedures.zengin import Remitter
from madoguchi.surveillance.selectors import is_clinic_account
from madoguchi.tenants.models import Department, Municipality, Role

_PAGE = 50
_ACCESS_PURPOSE = "申請内容の確認（審査・事務処理）"
_LIST_PURPOSE = "申請一覧での氏名の表示"


def _visible_departments(staff: StaffContext) -> list[Department] | None:
    """None (every department) for municipality-wide members, else their own departments."""
    if any(m.department_id is None for m in staff.memberships):
        return None
    return staff.departments


def may_work_applications(staff: StaffContext) -> bool:
    """Every member except a clinic's account (医療機関), which opens only the clinic pages."""
    return not is_clinic_account(user_id=staff.user.pk)


def may_export_transfers(staff: StaffContext) -> bool:
    """Supervisors and admins, of a department or municipality-wide."""
    return may_work_applications(staff) and any(
        staff.roles(d) & {Role.ADMIN, Role.SUPERVISOR} for d in [None, *staff.departments]
    )


def _detail_url(municipality: Municipality, application: Application) -> str:
    return reverse(
        "console-applications:detail",
        kwargs={"municipality_slug": municipality.slug, "receipt": application.receipt_number},
    )


@require_safe
@staff_view()
def queue(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    if not may_work_applications(staff):
        raise PermissionDenied("clinic accounts see only their notifications")
    departments = _visible_departments(staff)
    department_code = request.GET.get("department", "")
    if department_code:
        allowed = departments if departments is not None else list(municipality.departments.all())
        departments = [d for d in allowed if d.code == department_code]
    applications = selectors.application_queue(
        municipality=municipality,
        departments=departments,
        state=request.GET.get("state", "")[:40],
        procedure_code=request.GET.get("procedure", "")[:63],
        overdue=request.GET.get("overdue") == "1",
        open_only=request.GET.get("open") == "1",
        assigned_to=staff.user if request.GET.get("mine") == "1" else None,
        query=request.GET.get("q", "")[:100],
    )
    _audit_search(staff, request.GET.get("q", "")[:100])
    page = Paginator(applications, _PAGE).get_page(request.GET.get("page"))
    shown = list(page)
    # Each name shown is a look at that resident's data, which they see on their status page.
    # In read-only mode no access can be recorded, so the list goes without names.
    show_names = not read_only_active()
    if show_names:
        audit_access_many(
            municipality=municipality,
            purpose=_LIST_PURPOSE,
            accesses=[(staff.actor(a.department), a) for a in shown],
            action="list",
        )
    query = request.GET.copy()
    query.pop("page", None)
    procedures = selectors.procedure_list_published(municipality=municipality)
    states: dict[str, str] = {}
    for procedure in procedures:
        if procedure.current_version is not None:
            for key, spec in selectors.definition_of(procedure.current_version).states.items():
                states.setdefault(key, spec.label_ja)
    return render(
        request,
        "procedures/console/queue.html",
        {
            "municipality": municipality,
            "staff": staff,
            "page": page,
            "rows": [
                (
                    a,
                    _state_label(a),
                    selectors.definition_of(a.version).name_ja,
                    applicant_name(a) if show_names else "",
                )
                for a in shown
            ],
            "show_names": show_names,
            "query": query.urlencode(),
            "filters": request.GET,
            "procedures": [
                (p.code, selectors.definition_of(p.current_version).name_ja)
                for p in procedures
                if p.current_version is not None
            ],
            "states": sorted(states.items()),
            "departments": (
                _visible_departments(staff)
                if _visible_departments(staff) is not None
                else list(municipality.departments.all())
            ),
            "today": timezone.localdate(),
            "can_bulk": _can_bulk(staff),
            "can_print_slips": any(m.role in slips.HANDLING_ROLES for m in staff.memberships),
            "bulk_targets": sorted(states.items()),
        },
    )


def _audit_search(staff: StaffContext, query: str) -> None:
    """Record a search of the queue by name, kana or receipt number as a look at personal data.

    The query is a resident's name: the entry keeps a keyed hash (the blind index) of its
    normalised form, not the name, so the log itself discloses nobody, while an auditor asked
    "who searched for this person?" computes the hash of the name and finds the entries.
    """
    text = normalize_text(query).strip()
    if not text:
        return
    audit_access(
        municipality=staff.municipality,
        actor=staff.actor(),
        purpose="申請の検索（氏名・カナ・受付番号）",
        object_type="procedures.application_search",
        object_id=blind_index(text, purpose="audit.application_search"),
        action="search",
    )


def _can_bulk(staff: StaffContext) -> bool:
    return any(m.role in {Role.ADMIN, Role.SUPERVISOR} for m in staff.memberships)


def _state_label(application: Application) -> str:
    spec = selectors.definition_of(application.version).states.get(application.state)
    return spec.label_ja if spec else application.state


@require_POST
@staff_view()
def bulk(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("selected") if i.isdigit()][:1000]
    target = request.POST.get("target", "")[:40]
    back = reverse("console-applications:queue", kwargs={"municipality_slug": municipality.slug})
    back += "?" + request.POST.get("return_query", "")[:500]
    if not ids:
        messages.error(request, _("一括変更する申請を選んでください。"))
        return HttpResponseRedirect(back)
    visible = selectors.application_queue(
        municipality=municipality, departments=_visible_departments(staff)
    ).filter(pk__in=ids)
    visible_ids = list(visible.values_list("pk", flat=True))
    if len(visible_ids) != len(set(ids)):
        messages.error(request, _("選んだ申請の一部が見つかりません。画面を更新してください。"))
        return HttpResponseRedirect(back)
    try:
        moved = workflow.applications_bulk_transition(
            application_ids=visible_ids,
            target=target,
            staff=staff,
            public_message=request.POST.get("public_message", "")[:2000],
        )
    except workflow.TransitionRefused as refused:
        messages.error(request, _("何も変更していません。") + refused.message)
    else:
        messages.success(request, _("%(n)d件の申請を変更しました。") % {"n": len(moved)})
    return HttpResponseRedirect(back)


@require_safe
@staff_view()
def summary(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    if not may_work_applications(staff):
        raise PermissionDenied("clinic accounts see only their notifications")
    today = timezone.localdate()
    return render(
        request,
        "procedures/console/summary.html",
        {
            "municipality": municipality,
            "staff": staff,
            "today": today,
            "rows": selectors.application_summary(
                municipality=municipality, departments=_visible_departments(staff), today=today
            ),
        },
    )


def _application_or_404(
    municipality: Municipality, staff: StaffContext, receipt: str
) -> Application:
    application = selectors.application_get_for_staff(
        municipality=municipality,
        receipt_number=receipt,
        departments=_visible_departments(staff),
    )
    if application is None:
        raise Http404
    return application


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view()
def detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, receipt: str
) -> HttpResponse:
    application = _application_or_404(municipality, staff, receipt)
    error = ""
    if request.method == "POST":
        error = _act(request, staff, application)
        if not error:
            return HttpResponseRedirect(_detail_url(municipality, application))
        application.refresh_from_db()
    audit_access(
        municipality=municipality,
        actor=staff.actor(application.department),
        purpose=_ACCESS_PURPOSE,
        obj=application,
    )
    definition = selectors.definition_of(application.version)
    answers = application.answers or {}
    sections = [
        {
            "title": step.title_ja,
            "rows": [
                (field.label, field.display(answers[field.key]) if field.key in answers else "")
                for field in step.fields
            ],
        }
        for step in definition.steps
    ]
    assignees = selectors.assignable_staff(application=application)
    context: dict[str, Any] = {
        "municipality": municipality,
        "staff": staff,
        "application": application,
        "definition": definition,
        "state_label": _state_label(application),
        "sections": sections,
        "attachments": list(application.attachments.order_by("created_at")),
        "history": _history(application, definition),
        "notes": list(application.notes.order_by("created_at")),
        "info_requests": list(application.info_requests.order_by("created_at")),
        "duplicates": selectors.duplicate_matches_for(application=application),
        "bundle_parts": selectors.bundle_parts_of(application=application),
        "transitions": [
            (t, definition.states[t.target])
            for t in workflow.transitions_for(application=application, staff=staff)
        ],
        "assignees": assignees,
        "can_act": bool(
            staff.roles(application.department) & {Role.ADMIN, Role.SUPERVISOR, Role.CLERK}
        ),
        "can_print_slip": bool(staff.roles(application.department) & slips.HANDLING_ROLES),
        "error": error,
        "today": timezone.localdate(),
        "accesses": audit_entries_for_object(
            municipality=municipality,
            object_type="procedures.application",
            object_id=str(application.pk),
            kind=EntryKind.ACCESS,
        ).count(),
    }
    return render(request, "procedures/console/detail.html", context, status=400 if error else 200)


def _history(
    application: Application, definition: ProcedureDefinition
) -> list[tuple[StateChange, StateSpec | None, str]]:
    changes = list(application.state_changes.all())
    return [
        (change, definition.states.get(change.to_state), actor)
        for change, actor in zip(changes, state_change_actors(changes), strict=True)
    ]


def _act(request: HttpRequest, staff: StaffContext, application: Application) -> str:
    """Carry out the posted action; return the Japanese error, or "" when it was done."""
    action = request.POST.get("action", "")
    try:
        if action == "transition":
            workflow.application_transition(
                application=application,
                target=request.POST.get("target", "")[:40],
                staff=staff,
                reason=request.POST.get("reason", "")[:2000],
                missing_items=request.POST.get("missing_items", "")[:2000],
                public_message=request.POST.get("public_message", "")[:2000],
                expected_state=request.POST.get("expected_state", "")[:40] or None,
            )
            messages.success(request, _("状態を変更しました。"))
        elif action == "assign":
            username = request.POST.get("assignee", "")
            assignee = User.objects.filter(username=username).first() if username else None
            if username and assignee is None:
                return _("担当者が見つかりません。")
            workflow.application_assign(application=application, assignee=assignee, staff=staff)
            messages.success(request, _("担当者を変更しました。"))
        elif action == "note":
            workflow.application_note_add(
                application=application, staff=staff, text=request.POST.get("text", "")[:4000]
            )
            messages.success(request, _("メモを追加しました。"))
        else:
            return _("操作を選んでください。")
    except workflow.TransitionRefused as refused:
        return refused.message
    return ""


def _slip_response(issued: slips.IssuedSlips) -> HttpResponse:
    """The PDF as a download that no cache keeps: it holds lookup secrets."""
    response = HttpResponse(issued.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{issued.filename}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@staff_view()
def slip(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, receipt: str
) -> HttpResponse:
    """The 受付票 of one application (or its one-stop bundle), with a new lookup secret."""
    application = _application_or_404(municipality, staff, receipt)
    try:
        issued = slips.slips_issue(
            municipality=municipality, staff=staff, application_ids=[application.pk]
        )
    except slips.SlipRefused as refused:
        raise PermissionDenied(refused.code) from None
    return _slip_response(issued)


@require_POST
@staff_view()
def slips_batch(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    """受付票 for the paper applications received on a day, one PDF."""
    back = reverse("console-applications:queue", kwargs={"municipality_slug": municipality.slug})
    try:
        day = parse_japanese_date(request.POST.get("day", "")[:40])
    except DateParseError as exc:
        messages.error(request, _("受付日：") + exc.message)
        return HttpResponseRedirect(back)
    ids = slips.slip_candidates(
        municipality=municipality,
        staff=staff,
        day=day,
        procedure_code=request.POST.get("procedure", "")[:63],
        include_issued=request.POST.get("include_issued") == "1",
    )
    if not ids:
        messages.info(request, _("受付票を印刷する紙の申請はありません。"))
        return HttpResponseRedirect(back)
    try:
        issued = slips.slips_issue(municipality=municipality, staff=staff, application_ids=ids)
    except slips.SlipRefused as refused:
        messages.error(request, refused.message)
        return HttpResponseRedirect(back)
    return _slip_response(issued)


@require_safe
@staff_view()
def attachment(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    receipt: str,
    file_id: uuid.UUID,
) -> HttpResponseBase:
    application = _application_or_404(municipality, staff, receipt)
    found = Attachment.objects.filter(
        pk=file_id, application=application, municipality=municipality
    ).first()
    if found is None:
        raise Http404
    audit_access(
        municipality=municipality,
        actor=staff.actor(application.department),
        purpose="添付書類の確認",
        obj=application,
        action="view_attachment",
    )
    return attachment_response(found)


_REMITTER_FIELDS = (
    ("requester_code", "振込依頼人コード（銀行から指定、10桁まで）"),
    ("requester_name", "振込依頼人名（カナ）"),
    ("bank_code", "仕向銀行番号（4桁）"),
    ("bank_name", "仕向銀行名（カナ、任意）"),
    ("branch_code", "仕向支店番号（3桁）"),
    ("branch_name", "仕向支店名（カナ、任意）"),
    ("account_type", "預金種目（1 普通・2 当座）"),
    ("account_number", "口座番号（7桁）"),
)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view()
def export_transfers(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    """Supervisors download the 全銀 file (or a CSV to check) for approved cash benefits."""
    # Supervisors of a department count, not only municipality-wide ones.
    if not may_export_transfers(staff):
        raise PermissionDenied("supervisors and admins only")
    payable = transfers.payable_procedures(municipality=municipality)
    saved = TransferAccount.objects.filter(municipality=municipality).first()
    values: dict[str, str] = {
        name: str(getattr(saved, name, "") or "") for name, _label in _REMITTER_FIELDS
    }
    values.update(
        procedure=payable[0][0].code if payable else "",
        state="transfer_pending",
        transfer_date=transfers.default_transfer_date(timezone.localdate()).isoformat(),
        format="zengin",
    )
    problems: list[str] = []
    if request.method == "POST":
        values.update({k: request.POST.get(k, "")[:60].strip() for k in values})
        procedure = next((p for p, _d in payable if p.code == values["procedure"]), None)
        try:
            transfer_date = parse_japanese_date(values["transfer_date"])
        except DateParseError as exc:
            problems.append(f"振込指定日：{exc.message}")
            transfer_date = None
        if procedure is None:
            problems.append("振込を行う手続きを選んでください。")
        elif values["state"] not in dict(payable)[procedure].states:
            problems.append(_("対象の状態を選んでください。"))
            procedure = None
        if procedure is not None and transfer_date is not None:
            remitter = Remitter(
                requester_code=values["requester_code"],
                requester_name=values["requester_name"],
                transfer_date=transfer_date,
                bank_code=values["bank_code"],
                bank_name=values["bank_name"],
                branch_code=values["branch_code"],
                branch_name=values["branch_name"],
                account_type=values["account_type"],
                account_number=values["account_number"],
            )
            try:
                export = transfers.transfer_export(
                    staff=staff,
                    procedure=procedure,
                    state=values["state"],
                    remitter=remitter,
                    fmt="csv" if values["format"] == "csv" else "zengin",
                    departments=_visible_departments(staff),
                )
            except transfers.TransferRefused as refused:
                problems.extend(refused.messages)
            else:
                transfers.transfer_account_save(staff=staff, remitter=remitter)
                content_type = (
                    "text/csv; charset=utf-8"
                    if values["format"] == "csv"
                    else "text/plain; charset=shift_jis"
                )
                response = HttpResponse(export.content, content_type=content_type)
                response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
                return response
    return render(
        request,
        "procedures/console/export.html",
        {
            "municipality": municipality,
            "staff": staff,
            "payable": payable,
            # Each procedure's states by label, in its workflow's order: the state is chosen,
            # never typed as a key.
            "state_choices": [(d.name_ja, list(d.states.values())) for _p, d in payable],
            "values": values,
            "remitter_fields": _REMITTER_FIELDS,
            "problems": problems,
        },
        status=400 if problems else 200,
    )
