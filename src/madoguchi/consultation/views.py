"""Staff pages: the hand-over inbox, FAQ editing with CSV, synonyms, the learning loop, LINE."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.services import audit_access, audit_event
from madoguchi.consultation import selectors, services
from madoguchi.consultation.assistant import (
    ANSWER_THRESHOLD,
    Decision,
    assistant_explain,
    faq_answer,
)
from madoguchi.consultation.csvio import faq_export_csv, faq_import_csv
from madoguchi.consultation.errors import ConsultationError
from madoguchi.consultation.forms import CsvImportForm, FaqForm, LineChannelForm, ReplyForm
from madoguchi.consultation.handover import conversation_close, conversation_read, staff_reply
from madoguchi.consultation.index_builds import (
    index_build_last_done,
    index_build_latest,
    index_build_start,
    index_is_current,
)
from madoguchi.consultation.language import question_language
from madoguchi.consultation.learning import learning_apply
from madoguchi.consultation.models import Sender
from madoguchi.tenants.models import Municipality, Role
from madoguchi.tenants.selectors import department_list

_REPLIERS = [Role.ADMIN, Role.SUPERVISOR, Role.CLERK]
_EDITORS = [Role.ADMIN, Role.SUPERVISOR]


def _url(name: str, municipality: Municipality, **kwargs: object) -> str:
    return reverse(
        f"consultation:{name}", kwargs={"municipality_slug": municipality.slug, **kwargs}
    )


# Any member but a clinic account may open the inbox and a conversation: department members
# (whose roles count only for their department) see their departments' conversations,
# may_see_conversation decides.
@require_safe
@staff_view()
def inbox(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    if not selectors.handover_open_to(staff=staff):
        raise PermissionDenied("clinic accounts see no hand-over")
    conversations = list(selectors.inbox_list(staff=staff)[:200])
    return render(
        request,
        "consultation/staff/inbox.html",
        {"municipality": municipality, "conversations": conversations},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view()
def conversation_detail(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    conversation_id: uuid.UUID,
) -> HttpResponse:
    conversation = selectors.conversation_get(
        municipality=municipality, conversation_id=str(conversation_id)
    )
    if conversation is None or not selectors.may_see_conversation(
        staff=staff, conversation=conversation
    ):
        raise Http404
    form = ReplyForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST":
        if not staff.has_role(_REPLIERS, conversation.department):
            return render(request, "403.html", status=403)
        if request.POST.get("action") == "close":
            conversation_close(staff=staff, conversation=conversation)
            return HttpResponseRedirect(_url("inbox", municipality))
        if form.is_valid():
            try:
                staff_reply(staff=staff, conversation=conversation, text=form.cleaned_data["text"])
            except ConsultationError as exc:
                error, status = exc.message, 400
            else:
                return HttpResponseRedirect(
                    _url("conversation", municipality, conversation_id=conversation.pk)
                )
        else:
            status = 400
    # Not "messages": that name is the site's notices (django.contrib.messages) in base.html.
    conversation_messages = conversation_read(staff=staff, conversation=conversation)
    return render(
        request,
        "consultation/staff/conversation.html",
        {
            "municipality": municipality,
            "conversation": conversation,
            "conversation_messages": conversation_messages,
            "form": form,
            "error": error,
            "may_reply": staff.has_role(_REPLIERS, conversation.department),
            "Sender": Sender,
        },
        status=status,
    )


def _departments(municipality: Municipality) -> list[tuple[str, str]]:
    return [(d.code, d.name) for d in department_list(municipality=municipality)]


@require_safe
@staff_view(roles=_EDITORS)
def faq_list(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    entries = selectors.faq_entry_list(municipality=municipality).order_by("category", "code")
    return render(
        request,
        "consultation/staff/faq_list.html",
        {"municipality": municipality, "entries": entries, "import_form": CsvImportForm()},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_EDITORS)
def faq_edit(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, entry_id: int = 0
) -> HttpResponse:
    entry = None
    if entry_id:
        entry = selectors.faq_entry_get(municipality=municipality, entry_id=entry_id)
        if entry is None:
            raise Http404
    departments = _departments(municipality)
    initial = (
        FaqForm.initial_for(entry)
        if entry
        else {
            "question": request.GET.get("question", "")[:200],
            "is_published": True,
        }
    )
    form = FaqForm(request.POST or None, initial=initial, departments=departments)
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "delete" and entry is not None:
            services.faq_entry_delete(municipality=municipality, entry=entry, actor=staff.actor())
            return HttpResponseRedirect(_url("faq", municipality))
        if form.is_valid():
            try:
                services.faq_entry_save(
                    municipality=municipality,
                    data=form.data_object(),
                    actor=staff.actor(),
                    entry=entry,
                )
            except ConsultationError as exc:
                error = "／".join(exc.errors or [exc.message])
            else:
                return HttpResponseRedirect(_url("faq", municipality))
    return render(
        request,
        "consultation/staff/faq_edit.html",
        {"municipality": municipality, "form": form, "entry": entry, "error": error},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
@staff_view(roles=_EDITORS)
def faq_import(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    form = CsvImportForm(request.POST, request.FILES)
    errors: list[str] = []
    report = None
    if form.is_valid():
        try:
            report = faq_import_csv(
                municipality=municipality, raw=form.cleaned_data["file"].read(), actor=staff.actor()
            )
        except ConsultationError as exc:
            errors = exc.errors or [exc.message]
    else:
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
    return render(
        request,
        "consultation/staff/faq_import.html",
        {"municipality": municipality, "report": report, "errors": errors[:200]},
        status=400 if errors else 200,
    )


@require_safe
@staff_view(roles=_EDITORS)
def faq_export(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    encoding = "cp932" if request.GET.get("encoding") == "cp932" else "utf-8"
    try:
        body = faq_export_csv(municipality=municipality, encoding=encoding)
    except ConsultationError as exc:
        return render(
            request,
            "consultation/staff/faq_import.html",
            {"municipality": municipality, "report": None, "errors": [exc.message]},
            status=400,
        )
    audit_event(municipality=municipality, action="consultation.faq.export", actor=staff.actor())
    response = HttpResponse(
        body, content_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}"
    )
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="faq-{municipality.code}-{stamp}.csv"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_EDITORS)
def synonyms(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "delete":
                group = (
                    selectors.synonym_groups(municipality=municipality)
                    .filter(
                        pk=request.POST.get("group", "0")
                        if request.POST.get("group", "").isdigit()
                        else 0
                    )
                    .first()
                )
                if group is None:
                    raise Http404
                services.synonym_delete(municipality=municipality, group=group, actor=staff.actor())
            else:
                services.synonym_add(
                    municipality=municipality,
                    terms=request.POST.get("terms", ""),
                    actor=staff.actor(),
                )
        except ConsultationError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("synonyms", municipality))
    return render(
        request,
        "consultation/staff/synonyms.html",
        {
            "municipality": municipality,
            "groups": selectors.synonym_groups(municipality=municipality),
            "error": error,
            "terms": request.POST.get("terms", ""),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_EDITORS)
def learning(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    error = ""
    if request.method == "POST":
        try:
            redirect = learning_apply(municipality=municipality, staff=staff, data=request.POST)
        except ConsultationError as exc:
            error = "／".join(exc.errors or [exc.message])
        else:
            return HttpResponseRedirect(redirect or _url("learning", municipality))
    audit_access(
        municipality=municipality,
        actor=staff.actor(),
        purpose="FAQ改善のための未回答の質問の確認",
        object_type="consultation.learning",
        object_id=municipality.code,
    )
    groups = selectors.learning_groups(municipality=municipality)
    entries = selectors.faq_entry_list(municipality=municipality).order_by("category", "code")
    return render(
        request,
        "consultation/staff/learning.html",
        {"municipality": municipality, "groups": groups, "entries": entries, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def line_settings(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    form = LineChannelForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.line_channel_save(
                municipality=municipality,
                channel_secret=form.cleaned_data["channel_secret"],
                access_token=form.cleaned_data["access_token"],
                basic_id=form.cleaned_data["basic_id"],
                actor=staff.actor(),
            )
        except ConsultationError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("line", municipality))
    channel = selectors.line_channel_get(municipality=municipality)
    webhook = request.build_absolute_uri(
        reverse("consultation-line-webhook", kwargs={"municipality_slug": municipality.slug})
    )
    return render(
        request,
        "consultation/staff/line.html",
        {
            "municipality": municipality,
            "form": form,
            "channel": channel,
            "webhook": webhook,
            "error": error,
        },
        status=400 if request.method == "POST" else 200,
    )


_SHOWN_CANDIDATES = 3  # the assistant's "もしかして" list


@require_safe
@staff_view(roles=_EDITORS)
def faq_try(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    """Type a question and see what the assistant would answer and why; nothing is stored."""
    question = request.GET.get("q", "")
    explanation = assistant_explain(municipality=municipality, text=question) if question else None
    rows = []
    match = explanation.match if explanation is not None else None
    if match is not None:
        hits = {hit.entry_id: hit for hit in match.result.hits}
        for rank, entry in enumerate(match.ranked, start=1):
            hit = hits[entry.pk]
            rows.append(
                {
                    "rank": rank,
                    "entry": entry,
                    "score": hit.score,
                    "dense": hit.dense,
                    "lexical": hit.lexical,
                    "answered": explanation is not None
                    and explanation.decision == Decision.ANSWER
                    and rank == 1,
                    "offered": explanation is not None
                    and explanation.decision == Decision.ASK
                    and rank <= _SHOWN_CANDIDATES,
                }
            )
    return render(
        request,
        "consultation/staff/faq_try.html",
        {
            "municipality": municipality,
            "question": question,
            "explanation": explanation,
            "match": match,
            "rows": rows,
            "threshold": match.threshold if match is not None else ANSWER_THRESHOLD,
            "calibrated_on": match.calibrated_on if match is not None else 0,
            "decision": str(explanation.decision) if explanation is not None else "",
            # What the resident would read, contact points filled in (in English for a
            # question written in English, as the assistant answers it).
            "answer": faq_answer(
                match.best,
                english=question_language(question) == "en"
                or (get_language() or "").startswith("en"),
            )[0]
            if match and match.best
            else "",
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=_EDITORS)
def faq_index(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    """The search index: when it was last built, whether entries changed since, a rebuild."""
    error = ""
    if request.method == "POST":
        try:
            index_build_start(municipality=municipality, actor=staff.actor())
        except ConsultationError as exc:
            error = exc.message
        else:
            return HttpResponseRedirect(_url("faq-index", municipality))
    latest = index_build_latest(municipality=municipality)
    last_done = index_build_last_done(municipality=municipality)
    running = latest is not None and latest.unfinished
    waiting_long = (
        running
        and latest is not None
        and latest.state == "queued"
        and (timezone.now() - latest.created_at).total_seconds() > 30
    )
    return render(
        request,
        "consultation/staff/faq_index.html",
        {
            "municipality": municipality,
            "latest": latest,
            "last_done": last_done,
            "running": running,
            "waiting_long": waiting_long,
            "current": index_is_current(municipality=municipality, build=last_done),
            "entries": selectors.faq_entry_list(municipality=municipality)
            .filter(is_published=True)
            .count(),
            "error": error,
        },
        status=409 if error else 200,
    )
