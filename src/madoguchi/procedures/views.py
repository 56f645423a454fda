"""Residents' pages: the catalogue, the application wizard, receipts and status lookup.

Everything works without JavaScript. A draft is reachable only from the browser session that
started it, or through the resume link sent by e-mail.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip, client_key
from madoguchi.core.templatetags.madoguchi import local_text, typed_ja
from madoguchi.core.uploads import UploadRejected
from madoguchi.procedures import services, wizard
from madoguchi.procedures.attachments import (
    attachment_response,
    attachment_store,
    attachments_discard,
)
from madoguchi.procedures.definitions import ProcedureDefinition, StateSpec, StepSpec
from madoguchi.procedures.fieldtypes import FieldInvalid, FieldSpec, validate_answers
from madoguchi.procedures.models import Application, Attachment, Channel, Draft, Procedure
from madoguchi.procedures.receipts import lookup_secret_display, receipt_number_display
from madoguchi.procedures.selectors import (
    application_get_by_id,
    bundle_parts_of,
    definition_of,
    procedure_get_published,
    procedure_get_withdrawn,
    procedure_is_open,
    procedure_list_published,
)
from madoguchi.procedures.status import (
    LookupRefused,
    PublicStatus,
    status_accesses,
    status_lookup,
    status_of,
    status_public,
)
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality

_EMAIL_SPEC = FieldSpec.from_dict(
    {"key": "email", "type": "email", "label_ja": "メールアドレス", "label_en": "E-mail address"}
)
DRAFTS_KEY = "madoguchi_drafts"
RECEIPTS_KEY = "madoguchi_receipts"
_MAX_DRAFTS_IN_SESSION = 20


# --- catalogue ---------------------------------------------------------------------------------


@require_safe
@municipality_view
def catalogue(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    procedures = [
        (p, definition_of(p.current_version))
        for p in procedure_list_published(municipality=municipality)
        if p.current_version is not None
    ]
    return render(
        request,
        "procedures/catalogue.html",
        {"municipality": municipality, "procedures": procedures},
    )


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "404.html", {"message": message}, status=404)


def _withdrawn(
    request: HttpRequest, municipality: Municipality, procedure: Procedure | None
) -> HttpResponse:
    """The procedure no longer takes applications (410: it existed, and is gone for good)."""
    name = ""
    if procedure is not None and procedure.current_version is not None:
        name = definition_of(procedure.current_version).name_ja
    return render(
        request,
        "procedures/withdrawn.html",
        {"municipality": municipality, "name": name},
        status=410,
    )


def _draft_withdrawn(request: HttpRequest, municipality: Municipality, draft: Draft) -> bool:
    return draft.application_id is None and not procedure_is_open(
        procedure_id=draft.version.procedure_id
    )


@require_http_methods(["GET", "HEAD", "POST"])
@municipality_view
def procedure_detail(request: HttpRequest, municipality: Municipality, code: str) -> HttpResponse:
    procedure = procedure_get_published(municipality=municipality, code=code)
    if procedure is None:
        withdrawn = procedure_get_withdrawn(municipality=municipality, code=code)
        if withdrawn is not None:
            return _withdrawn(request, municipality, withdrawn)
    if procedure is None or procedure.current_version is None:
        return _not_found(
            request, _("この手続きは見つかりません。手続きの一覧からお選びください。")
        )
    definition = definition_of(procedure.current_version)
    if request.method == "POST":
        draft = services.draft_start(municipality=municipality, procedure=procedure)
        _remember_draft(request, draft)
        return HttpResponseRedirect(_step_url(municipality, draft, definition.steps[0]))
    return render(
        request,
        "procedures/detail.html",
        {"municipality": municipality, "procedure": procedure, "definition": definition},
    )


# --- drafts in the session ---------------------------------------------------------------------


def _remember_draft(request: HttpRequest, draft: Draft) -> None:
    ids = [i for i in request.session.get(DRAFTS_KEY, []) if i != str(draft.pk)]
    request.session[DRAFTS_KEY] = [*ids[-(_MAX_DRAFTS_IN_SESSION - 1) :], str(draft.pk)]


def _draft_for(request: HttpRequest, municipality: Municipality, draft_id: uuid.UUID) -> Draft:
    """The session's own, unexpired draft, or Http404 (the same for others' drafts)."""
    if str(draft_id) not in request.session.get(DRAFTS_KEY, []):
        raise Http404
    draft = (
        Draft.objects.filter(pk=draft_id, municipality=municipality)
        .select_related("version", "version__procedure")
        .first()
    )
    if draft is None or (draft.expires_at <= timezone.now() and draft.application_id is None):
        raise Http404
    return draft


def _step_url(municipality: Municipality, draft: Draft, step: StepSpec) -> str:
    return reverse(
        "procedures:step",
        kwargs={"municipality_slug": municipality.slug, "draft_id": draft.pk, "step": step.key},
    )


def _url(name: str, municipality: Municipality, draft: Draft) -> str:
    return reverse(
        f"procedures:{name}",
        kwargs={"municipality_slug": municipality.slug, "draft_id": draft.pk},
    )


def _progress(
    municipality: Municipality, definition: ProcedureDefinition, current: str, draft: Draft
) -> list[dict[str, Any]]:
    """The step indicator: every step and the review, visited ones as links (not the current)."""
    done = set(draft.completed_steps or [])
    visited = done | set(draft.raw or {})
    steps = [
        {
            "key": s.key,
            "title": typed_ja(local_text(s, "title")),
            "done": s.key in done,
            "current": s.key == current,
            "url": _step_url(municipality, draft, s)
            if s.key in visited and s.key != current
            else "",
        }
        for s in definition.steps
    ]
    all_done = all(s.key in done for s in definition.steps)
    steps.append(
        {
            "key": "review",
            "title": _("確認"),
            "done": False,
            "current": current == "review",
            "url": _url("review", municipality, draft) if all_done and current != "review" else "",
        }
    )
    return steps


def _expired_draft(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    return render(
        request,
        "procedures/draft_gone.html",
        {"municipality": municipality},
        status=404,
    )


# --- the wizard --------------------------------------------------------------------------------


def _store_files(
    request: HttpRequest,
    municipality: Municipality,
    draft: Draft,
    step: StepSpec,
    values: dict[str, Any],
) -> dict[str, FieldInvalid]:
    """Store the step's new uploads; return errors for files refused (the rest are kept)."""
    errors: dict[str, FieldInvalid] = {}
    for spec in step.fields:
        if spec.type != "file":
            continue
        if request.POST.get("action") == f"remove_file:{spec.key}":
            values[spec.key] = None
            continue
        upload = request.FILES.get(spec.key)
        if getattr(request, "upload_too_large", False) and upload is None:
            limit_mb = max(1, settings.UPLOAD_MAX_BYTES // (1024 * 1024))
            errors[spec.key] = FieldInvalid(
                "too_large",
                _("ファイルが大きすぎます。%(mb)dMB以下にしてください。") % {"mb": limit_mb},
            )
            continue
        if upload is None or upload.file is None:
            continue
        try:
            attachment, _token = attachment_store(
                municipality=municipality,
                stream=upload.file,
                original_name=upload.name or "",
                field=spec,
                draft=draft,
            )
        except UploadRejected as exc:
            errors[spec.key] = FieldInvalid(str(exc.code), exc.message)
            continue
        values[spec.key] = {
            "id": str(attachment.pk),
            "content_type": attachment.content_type,
            "size": attachment.size,
            "name": attachment.original_name,
        }
    return errors


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def step_view(
    request: HttpRequest, municipality: Municipality, draft_id: uuid.UUID, step: str
) -> HttpResponse:
    try:
        draft = _draft_for(request, municipality, draft_id)
    except Http404:
        return _expired_draft(request, municipality)
    if draft.application_id is not None:
        return HttpResponseRedirect(_url("done", municipality, draft))
    if _draft_withdrawn(request, municipality, draft):
        return _withdrawn(request, municipality, draft.version.procedure)
    definition = definition_of(draft.version)
    spec = definition.step(step)
    if spec is None:
        return _not_found(request, _("このページは見つかりません。"))
    index = definition.steps.index(spec)
    previous = (draft.raw or {}).get(spec.key, {})
    errors: dict[str, Any] = {}
    extra_rows: dict[str, int] = {}
    searches: dict[str, wizard.BankSearch] = {}

    if request.method == "POST":
        action = request.POST.get("action", "next")
        if request.POST.get("language"):
            action = "language"  # the switch re-shows the step in the other language
        values = wizard.parse_step(spec.fields, request.POST, previous)
        if getattr(request, "upload_too_large", False):
            # Reading stopped at the oversized file: inputs after it never arrived, so keep
            # what was saved for them instead of taking their absence as an answer.
            sent = {name.split(".", 1)[0] for name in request.POST}
            values = {k: (v if k in sent else previous.get(k, v)) for k, v in values.items()}
        errors.update(_store_files(request, municipality, draft, spec, values))
        if action.startswith("add:"):
            extra_rows[action[4:]] = 1
        elif action.startswith(("bank_search:", "branch_search:")):
            searches.update(wizard.bank_search_for(action, values, request.POST))
        elif action.startswith("remove:"):
            parts = action.split(":")
            key, row = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
            rows = values.get(key)
            if isinstance(rows, list) and row.isdigit() and int(row) < len(rows):
                rows.pop(int(row))
        answers = wizard.drop_blank_rows(values, spec.fields)
        cleaned, field_errors = validate_answers(spec.fields, answers)
        for key, error in field_errors.items():
            errors.setdefault(key, error)
        cleaned = {k: v for k, v in cleaned.items() if k not in errors}
        services.draft_save_step(
            draft=draft, step_key=spec.key, raw=values, cleaned=cleaned, complete=not errors
        )
        if action == "back":
            target = definition.steps[index - 1] if index > 0 else None
            if target is None:
                return HttpResponseRedirect(
                    reverse(
                        "procedures:detail",
                        kwargs={"municipality_slug": municipality.slug, "code": definition.code},
                    )
                )
            return HttpResponseRedirect(_step_url(municipality, draft, target))
        if action == "save":
            return HttpResponseRedirect(_url("save", municipality, draft))
        if action == "next" and not errors:
            if index + 1 < len(definition.steps):
                return HttpResponseRedirect(
                    _step_url(municipality, draft, definition.steps[index + 1])
                )
            return HttpResponseRedirect(_url("review", municipality, draft))
        if action != "next":
            errors = {}  # adding rows or searching is not a submission: no errors yet
        shown = values
    else:
        shown = previous

    widgets = wizard.build_widgets(
        spec.fields, shown, errors, extra_rows=extra_rows, searches=searches
    )
    return render(
        request,
        "procedures/step.html",
        {
            "municipality": municipality,
            "definition": definition,
            "draft": draft,
            "step": spec,
            "step_number": index + 1,
            "step_count": len(definition.steps) + 1,  # the review is the last step
            "progress": _progress(municipality, definition, spec.key, draft),
            "widgets": widgets,
            "errors": wizard.error_list(widgets),
            "has_files": any(f.type == "file" for f in spec.fields),
            "is_first": index == 0,
            "language_form": "wizard-step",
        },
        status=200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def review_view(
    request: HttpRequest, municipality: Municipality, draft_id: uuid.UUID
) -> HttpResponse:
    try:
        draft = _draft_for(request, municipality, draft_id)
    except Http404:
        return _expired_draft(request, municipality)
    if draft.application_id is not None:
        return HttpResponseRedirect(_url("done", municipality, draft))
    if _draft_withdrawn(request, municipality, draft):
        return _withdrawn(request, municipality, draft.version.procedure)
    definition = definition_of(draft.version)
    answers = draft.answers or {}
    _cleaned, errors = validate_answers(definition.fields, answers)
    missing_steps = [s for s in definition.steps if any(f.key in errors for f in s.fields)]

    if request.method == "POST" and not missing_steps:
        owned = Attachment.objects.filter(draft=draft, municipality=municipality).values_list(
            "pk", flat=True
        )
        actor = AuditActor(ip=client_ip(request), label="resident")
        owned_ids = [str(pk) for pk in owned]
        try:
            if definition.is_bundle:
                results = services.bundle_submit(
                    municipality=municipality,
                    version=draft.version,
                    answers=answers,
                    channel=Channel.WEB,
                    actor=actor,
                    owned_attachments=owned_ids,
                    draft=draft,
                )
            else:
                results = [
                    services.application_submit(
                        municipality=municipality,
                        version=draft.version,
                        answers=answers,
                        channel=Channel.WEB,
                        actor=actor,
                        owned_attachments=owned_ids,
                        draft=draft,
                    )
                ]
        except services.ProcedureWithdrawn:
            return _withdrawn(request, municipality, draft.version.procedure)
        except services.SubmissionInvalid as exc:
            errors = dict(exc.errors)
            missing_steps = [s for s in definition.steps if any(f.key in errors for f in s.fields)]
        else:
            if results[0].secret is not None:
                receipts = dict(request.session.get(RECEIPTS_KEY, {}))
                receipts[str(draft.pk)] = {
                    "receipts": [r.application.receipt_number for r in results],
                    "secret": results[0].secret,
                }
                request.session[RECEIPTS_KEY] = receipts
            return HttpResponseRedirect(_url("done", municipality, draft))

    sections = wizard.review_sections(
        definition, answers, errors, missing_steps, lambda s: _step_url(municipality, draft, s)
    )
    return render(
        request,
        "procedures/review.html",
        {
            "municipality": municipality,
            "definition": definition,
            "draft": draft,
            "sections": sections,
            "missing_steps": missing_steps,
            "step_number": len(definition.steps) + 1,
            "step_count": len(definition.steps) + 1,
            "progress": _progress(municipality, definition, "review", draft),
        },
        status=200,
    )


@never_cache
@require_safe
@municipality_view
def done_view(
    request: HttpRequest, municipality: Municipality, draft_id: uuid.UUID
) -> HttpResponse:
    try:
        draft = _draft_for(request, municipality, draft_id)
    except Http404:
        return _expired_draft(request, municipality)
    if draft.application_id is None:
        return HttpResponseRedirect(_url("review", municipality, draft))
    definition = definition_of(draft.version)
    stored = request.session.get(RECEIPTS_KEY, {}).get(str(draft.pk), {})
    numbers = [str(r) for r in stored.get("receipts", [])]
    secret = str(stored.get("secret") or "")
    found: dict[str, Application] = {}
    if numbers:
        found = {
            a.receipt_number: a
            for a in Application.objects.filter(
                municipality=municipality, receipt_number__in=numbers
            ).select_related("version", "department")
        }
    applications = [found[n] for n in numbers if n in found]
    parts = [
        (
            receipt_number_display(a.receipt_number),
            definition_of(a.version).name_ja,
            a.department,
            a.due_date,
        )
        for a in applications
    ]
    main = applications[0] if applications else None
    sections: list[dict[str, Any]] = []
    if main is not None:
        sections = wizard.review_sections(definition, main.answers or {}, {}, [], lambda s: "")
    return render(
        request,
        "procedures/done.html",
        {
            "municipality": municipality,
            "definition": definition,
            "parts": parts,
            "receipt": parts[0][0] if parts else "",
            "secret": lookup_secret_display(secret) if secret else "",
            "application": main,
            "email": main.email if main is not None else "",
            "sections": sections,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def save_view(
    request: HttpRequest, municipality: Municipality, draft_id: uuid.UUID
) -> HttpResponse:
    try:
        draft = _draft_for(request, municipality, draft_id)
    except Http404:
        return _expired_draft(request, municipality)
    definition = definition_of(draft.version)
    error = ""
    sent = False
    email = request.POST.get("email", "") if request.method == "POST" else ""
    if request.method == "POST":
        email_spec = _EMAIL_SPEC
        try:
            clean_email = email_spec.kind.clean(email, email_spec)
        except FieldInvalid as exc:
            error = exc.message
        else:
            if not clean_email:
                error = _("メールアドレスを入力してください。")
            else:
                link_base = settings.MADOGUCHI_SITE_URL + reverse(
                    "procedures:resume-base", kwargs={"municipality_slug": municipality.slug}
                )
                services.draft_issue_resume_link(
                    draft=draft, email=str(clean_email), link_base=link_base
                )
                sent = True
    first_open = next(
        (s for s in definition.steps if s.key not in (draft.completed_steps or [])),
        definition.steps[0],
    )
    return render(
        request,
        "procedures/save.html",
        {
            "municipality": municipality,
            "definition": definition,
            "draft": draft,
            "email": email,
            "error": error,
            "sent": sent,
            "continue_url": _step_url(municipality, draft, first_open),
        },
    )


@never_cache
@require_safe
@municipality_view
def resume_view(request: HttpRequest, municipality: Municipality, token: str) -> HttpResponse:
    draft = services.draft_resume(municipality=municipality, token=token)
    if draft is None:
        return render(
            request, "procedures/draft_gone.html", {"municipality": municipality}, status=410
        )
    _remember_draft(request, draft)
    definition = definition_of(draft.version)
    first_open = next(
        (s for s in definition.steps if s.key not in (draft.completed_steps or [])), None
    )
    if first_open is None:
        return HttpResponseRedirect(_url("review", municipality, draft))
    return HttpResponseRedirect(_step_url(municipality, draft, first_open))


@never_cache
@require_safe
@municipality_view
def draft_file_view(
    request: HttpRequest, municipality: Municipality, draft_id: uuid.UUID, file_id: uuid.UUID
) -> HttpResponseBase:
    """A resident sees a file they uploaded to their own draft."""
    draft = _draft_for(request, municipality, draft_id)
    attachment = Attachment.objects.filter(
        pk=file_id, draft=draft, municipality=municipality
    ).first()
    if attachment is None:
        raise Http404
    return attachment_response(attachment)


# --- status lookup ---------------------------------------------------------------------------

STATUS_OK_KEY = "madoguchi_status_ok"
_STATUS_OK_SECONDS = 1800
_RESPONSE_FILE = FieldSpec.from_dict(
    {
        "key": "response_file",
        "type": "file",
        "label_ja": "追加の書類",
        "options": {
            "accept": ["image/jpeg", "image/png", "image/heic", "application/pdf"],
            "max_bytes": 10 * 1024 * 1024,
        },
    }
)


def _state_label(state: StateSpec) -> str:
    english = (get_language() or "ja").startswith("en")
    return state.label_en if english and state.label_en else state.label_ja


def _status_context(
    request: HttpRequest, municipality: Municipality, result: PublicStatus
) -> dict[str, Any]:
    application = Application.objects.get(pk=result.application_id, municipality=municipality)
    states = definition_of(application.version).states
    history = [
        (
            change.changed_at,
            _state_label(states[change.to_state]) if change.to_state in states else "",
        )
        for change in application.state_changes.all()
    ]
    return {
        "history": history,
        "parts": bundle_parts_of(application=application),
        "result": result,
        "accesses": status_accesses(municipality=municipality, application_id=application.pk),
        "info_request": services.info_request_open(application=application),
        "answered": application.answered_at is not None,
    }


@never_cache
@require_http_methods(["GET", "POST"])
@municipality_view
def status_view(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    context: dict[str, Any] = {
        "municipality": municipality,
        "receipt_text": request.GET.get("receipt", "")[:40],
        "error": None,
    }
    status = 200
    granted = _granted_application(request, municipality)
    if request.method == "POST" and request.POST.get("again") and granted is not None:
        # The same result again (e.g. in the other language) from the session's proof of the
        # access code: the code itself is never put back into the page.
        context.update(_status_context(request, municipality, status_of(application=granted)))
        context["language_form"] = "status-again"
    elif request.method == "POST":
        receipt_text = request.POST.get("receipt_number", "")[:40]
        secret_text = request.POST.get("secret", "")[:40]
        context["receipt_text"] = receipt_text
        try:
            result = status_lookup(
                municipality=municipality,
                receipt_text=receipt_text,
                secret_text=secret_text,
                client=client_key(request, "status"),
            )
        except LookupRefused as refused:
            context["error"] = refused
            if refused.retry_after:
                status = 429
        else:
            # The resident proved the secret: they may answer a request on this page.
            request.session[STATUS_OK_KEY] = {
                "id": result.application_id,
                "until": timezone.now().timestamp() + _STATUS_OK_SECONDS,
            }
            context.update(_status_context(request, municipality, result))
            context["language_form"] = "status-again"
    response = render(request, "procedures/status.html", context, status=status)
    error = context["error"]
    if isinstance(error, LookupRefused) and error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _granted_application(request: HttpRequest, municipality: Municipality) -> Application | None:
    """The application whose access code this session proved in the last minutes, if any."""
    granted = request.session.get(STATUS_OK_KEY) or {}
    granted_id = granted.get("id") if isinstance(granted, dict) else None
    if isinstance(granted_id, int) and float(granted.get("until", 0)) > timezone.now().timestamp():
        return application_get_by_id(municipality=municipality, application_id=granted_id)
    return None


@never_cache
@require_http_methods(["POST"])
@municipality_view
def respond_view(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    """The resident answers a request for more information (text and files)."""
    application = _granted_application(request, municipality)
    if application is None:
        return render(
            request,
            "procedures/status.html",
            {
                "municipality": municipality,
                "receipt_text": "",
                "error": None,
                "notice": _("時間が経ったため、もう一度受付番号と確認コードを入力してください。"),
            },
            status=403,
        )
    errors: list[str] = []
    if services.info_request_open(application=application) is None:
        errors.append(_("回答をお願いしている事項はありません。"))
    if getattr(request, "upload_too_large", False):
        errors.append(_("ファイルが大きすぎます。合計20MB以下にしてください。"))
    stored: list[Attachment] = []
    for upload in [] if errors else request.FILES.getlist("files")[:10]:
        if upload.file is None:
            continue
        try:
            attachment, _token = attachment_store(
                municipality=municipality,
                stream=upload.file,
                original_name=upload.name or "",
                field=_RESPONSE_FILE,
            )
        except UploadRejected as exc:
            errors.append(f"{upload.name}：{exc.message}")
        else:
            stored.append(attachment)
    text = request.POST.get("text", "")[:4000]
    if not errors:
        try:
            services.info_request_answer(
                municipality=municipality,
                application_id=application.pk,
                text=text,
                attachment_ids=[str(a.pk) for a in stored],
                actor=AuditActor(ip=client_ip(request), label="resident"),
            )
        except services.InfoResponseInvalid as exc:
            errors.append(exc.message)
    if errors:
        # A refused answer keeps none of its files: the resident sends them again.
        attachments_discard(stored)
    # The result page again, with the answer's errors next to its form (and what was typed),
    # or without the request once it is answered.
    result = status_public(municipality=municipality, application_id=application.pk)
    assert result is not None  # the application was read above
    context: dict[str, Any] = {
        "municipality": municipality,
        "receipt_text": "",
        "error": None,
        "respond_errors": errors,
        "respond_text": text if errors else "",
        "just_answered": not errors,
        "language_form": "status-again",
        **_status_context(request, municipality, result),
    }
    return render(request, "procedures/status.html", context, status=400 if errors else 200)
