"""Staff pages: topics, areas and settings (admins); templates and sends (senders)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.services import audit_access
from madoguchi.messaging import selectors, services
from madoguchi.messaging.errors import MessagingError
from madoguchi.messaging.forms import (
    AreaCsvForm,
    AreaForm,
    SendForm,
    SettingsForm,
    TemplateForm,
    TopicForm,
)
from madoguchi.messaging.models import SendState, Template
from madoguchi.messaging.templating import template_text_fill
from madoguchi.surveillance.selectors import is_clinic_account
from madoguchi.tenants.models import Municipality, Role

__all__ = ["may_approve", "may_send"]

_ADMINS = [Role.ADMIN]
# Sending is the municipality's 広報 work, not one department's: a sender or approver may
# hold the role for any department.
SENDERS = {Role.ADMIN, Role.SUPERVISOR, Role.CLERK}
APPROVERS = {Role.ADMIN, Role.SUPERVISOR}


def may_send(staff: StaffContext) -> bool:
    # A clinic's account (a doctor filing 発生届) is no member of the city hall's staff.
    if is_clinic_account(user_id=staff.user.pk):
        return False
    return any(m.role in SENDERS for m in staff.memberships)


def may_approve(staff: StaffContext) -> bool:
    return any(m.role in APPROVERS for m in staff.memberships)


def _url(name: str, municipality: Municipality, **kwargs: object) -> str:
    return reverse(f"messaging:{name}", kwargs={"municipality_slug": municipality.slug, **kwargs})


def _require_sender(staff: StaffContext) -> None:
    if not may_send(staff):
        raise PermissionDenied("not a sender")


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_ADMINS)
def topics(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    form = TopicForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.topic_save(municipality=municipality, actor=staff.actor(), **form.cleaned_data)
        except MessagingError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("staff-topics", municipality))
    return render(
        request,
        "messaging/staff/topics.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "topics": selectors.topic_list(municipality=municipality),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_ADMINS)
def areas(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    is_csv = request.method == "POST" and "file" in request.FILES
    form = AreaForm(request.POST if request.method == "POST" and not is_csv else None)
    csv_form = AreaCsvForm(request.POST if is_csv else None, request.FILES if is_csv else None)
    error = ""
    if request.method == "POST":
        try:
            if is_csv and csv_form.is_valid():
                data = csv_form.cleaned_data["file"].read(1_000_001)
                services.areas_import_csv(municipality=municipality, data=data, actor=staff.actor())
                return HttpResponseRedirect(_url("staff-areas", municipality))
            if not is_csv and form.is_valid():
                services.area_save(
                    municipality=municipality, actor=staff.actor(), **form.cleaned_data
                )
                return HttpResponseRedirect(_url("staff-areas", municipality))
        except MessagingError as exc:
            error = exc.message
    return render(
        request,
        "messaging/staff/areas.html",
        {
            "municipality": municipality,
            "form": form,
            "csv_form": csv_form,
            "error": error,
            "areas": selectors.area_list(municipality=municipality),
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_ADMINS)
def settings_page(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    current = selectors.messaging_settings_get(municipality=municipality)
    form = SettingsForm(
        request.POST or None,
        initial={
            "quiet_start": current.quiet_start,
            "quiet_end": current.quiet_end,
            "approval_threshold": current.approval_threshold,
        },
    )
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.messaging_settings_save(
                municipality=municipality, actor=staff.actor(), **form.cleaned_data
            )
        except MessagingError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("staff-settings", municipality))
    return render(
        request,
        "messaging/staff/settings.html",
        {"municipality": municipality, "form": form, "error": error},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD"])
@staff_view()
def home(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    """Sends, newest first, with links to templates and a new send."""
    _require_sender(staff)
    return render(
        request,
        "messaging/staff/home.html",
        {
            "municipality": municipality,
            "sends": selectors.send_list(municipality=municipality)[:100],
            "templates": selectors.template_list(municipality=municipality),
            "is_admin": staff.has_role(_ADMINS),
            "may_read_notices": staff.has_role([Role.ADMIN, Role.SUPERVISOR]),
        },
    )


def _preview(template: Template, language: str, municipality: Municipality) -> dict[str, str]:
    values = {
        "municipality": municipality.name,
        "topic": template.topic.label(language),
        "area": "（地域名）" if language == "ja" else "(area)",
    }
    subject = template.subject_en if language == "en" else template.subject_ja
    body = template.body_en if language == "en" else template.body_ja
    return {
        "language": language,
        "subject": template_text_fill(subject, values),
        "body": template_text_fill(body, values),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view()
def template_edit(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    template_id: int | None = None,
) -> HttpResponse:
    """Create or change a template; the saved template is shown as a preview in both languages."""
    _require_sender(staff)
    template = None
    if template_id is not None:
        template = selectors.template_get(municipality=municipality, template_id=template_id)
        if template is None:
            raise Http404
    initial = {}
    if template is not None:
        initial = {
            "name": template.name,
            "topic": template.topic.code,
            "subject_ja": template.subject_ja,
            "body_ja": template.body_ja,
            "subject_en": template.subject_en,
            "body_en": template.body_en,
        }
    form = TemplateForm(request.POST or None, municipality=municipality, initial=initial)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        topic = (
            selectors.topic_list(municipality=municipality).filter(code=data.pop("topic")).first()
        )
        try:
            if topic is None:
                raise Http404
            saved = services.template_save(
                municipality=municipality,
                topic=topic,
                template=template,
                actor=staff.actor(),
                **data,
            )
        except MessagingError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("staff-template", municipality, template_id=saved.pk))
    previews = []
    if template is not None:
        previews.append(_preview(template, "ja", municipality))
        if template.body_en:
            previews.append(_preview(template, "en", municipality))
    return render(
        request,
        "messaging/staff/template.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "template": template,
            "previews": previews,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view()
def send_new(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    """Choose the segment; "宛先数を確認" counts the recipients, "送信する" creates the send."""
    _require_sender(staff)
    form = SendForm(request.POST or None, municipality=municipality)
    error = ""
    counts: dict[str, int] | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        template = selectors.template_get(
            municipality=municipality, template_id=int(data["template"])
        )
        topics = list(
            selectors.topic_list(municipality=municipality).filter(code__in=data["topics"])
        )
        areas = list(selectors.area_list(municipality=municipality).filter(code__in=data["areas"]))
        if template is None:
            raise Http404
        if request.POST.get("action") == "send":
            try:
                send = services.send_create(
                    municipality=municipality,
                    template=template,
                    topics=topics,
                    areas=areas,
                    languages=data["languages"],
                    scheduled_at=data["scheduled_at"],
                    actor=staff.actor(),
                )
            except MessagingError as exc:
                error = exc.message
            else:
                return HttpResponseRedirect(_url("staff-send", municipality, send_id=send.pk))
        counts = selectors.segment_count(
            municipality=municipality,
            topic_ids=[t.pk for t in topics],
            area_ids=[a.pk for a in areas],
            languages=data["languages"],
        )
    return render(
        request,
        "messaging/staff/send_new.html",
        {
            "municipality": municipality,
            "form": form,
            "error": error,
            "counts": counts,
            "total": sum(counts.values()) if counts else 0,
            "threshold": selectors.messaging_settings_get(
                municipality=municipality
            ).approval_threshold,
        },
        status=400 if request.method == "POST" and (error or not form.is_valid()) else 200,
    )


@require_http_methods(["GET", "HEAD"])
@staff_view()
def send_detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, send_id: int
) -> HttpResponse:
    """A send's state, counts and delivery log (addresses: the read is audited)."""
    _require_sender(staff)
    send = selectors.send_get(municipality=municipality, send_id=send_id)
    if send is None:
        raise Http404
    deliveries = list(selectors.delivery_list(send=send))
    if deliveries:
        audit_access(
            municipality=municipality,
            actor=staff.actor(),
            purpose="messaging.delivery_log",
            obj=send,
        )
    return render(
        request,
        "messaging/staff/send.html",
        {
            "municipality": municipality,
            "send": send,
            "counts": selectors.delivery_counts(send=send),
            "deliveries": deliveries,
            "may_approve": may_approve(staff)
            and send.state == SendState.AWAITING_APPROVAL
            and send.created_by_id != staff.user.pk,
            "may_cancel": send.state
            in {SendState.AWAITING_APPROVAL, SendState.SCHEDULED, SendState.HELD},
            "now": timezone.now(),
        },
    )


@require_POST
@staff_view()
def send_action(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, send_id: int
) -> HttpResponse:
    _require_sender(staff)
    send = selectors.send_get(municipality=municipality, send_id=send_id)
    if send is None:
        raise Http404
    action = request.POST.get("action")
    try:
        if action == "approve":
            if not may_approve(staff):
                raise PermissionDenied("not an approver")
            services.send_approve(send=send, actor=staff.actor())
        elif action == "cancel":
            services.send_cancel(send=send, actor=staff.actor())
        else:
            raise Http404
    except MessagingError as exc:
        return render(
            request,
            "messaging/staff/send.html",
            {
                "municipality": municipality,
                "send": send,
                "counts": selectors.delivery_counts(send=send),
                "deliveries": [],
                "error": exc.message,
            },
            status=400,
        )
    return HttpResponseRedirect(_url("staff-send", municipality, send_id=send.pk))
