"""The admin's preview of a version's wizard, drawn with the residents' own templates.

Any version can be previewed, published or not. The pages are the residents' detail, step
and review pages with a banner saying that this is a preview; what the admin types is
validated by the same rules and kept in the admin's session only, so a preview creates no
draft, no upload and no application. File fields take no uploads in a preview (a required
one does not hold the admin back).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.procedures import selectors, wizard
from madoguchi.procedures.catalogue_admin import ADMINS
from madoguchi.procedures.definitions import ProcedureDefinition, StepSpec
from madoguchi.procedures.fieldtypes import FieldInvalid, GroupInvalid, validate_answers
from madoguchi.procedures.models import ProcedureVersion
from madoguchi.tenants.models import Municipality

PREVIEW_KEY = "madoguchi_preview"
_MAX_PREVIEWS_IN_SESSION = 5


def _version(municipality: Municipality, code: str, number: int) -> ProcedureVersion:
    version = selectors.procedure_version_get(municipality=municipality, code=code, number=number)
    if version is None:
        raise Http404
    return version


def _state(request: HttpRequest, version: ProcedureVersion) -> dict[str, Any]:
    state = request.session.get(PREVIEW_KEY, {}).get(str(version.pk))
    if not isinstance(state, dict):
        return {"raw": {}, "answers": {}, "done": []}
    return state


def _save_state(request: HttpRequest, version: ProcedureVersion, state: dict[str, Any]) -> None:
    previews = {
        k: v for k, v in request.session.get(PREVIEW_KEY, {}).items() if k != str(version.pk)
    }
    kept = list(previews.items())[-(_MAX_PREVIEWS_IN_SESSION - 1) :]
    request.session[PREVIEW_KEY] = {**dict(kept), str(version.pk): state}


def _url(name: str, municipality: Municipality, version: ProcedureVersion, **extra: str) -> str:
    return reverse(
        f"console-procedures:{name}",
        kwargs={
            "municipality_slug": municipality.slug,
            "code": version.procedure.code,
            "number": version.number,
            **extra,
        },
    )


def _step_url(municipality: Municipality, version: ProcedureVersion, step: StepSpec) -> str:
    return _url("preview-step", municipality, version, step=step.key)


def _context(
    municipality: Municipality, version: ProcedureVersion, definition: ProcedureDefinition
) -> dict[str, Any]:
    return {
        "municipality": municipality,
        "definition": definition,
        "procedure": version.procedure,
        "preview": {
            "version": version,
            "is_current": version.procedure.current_version_id == version.pk,
            "back": _url("version", municipality, version),
            "restart": _url("preview", municipality, version),
        },
    }


def _progress(
    definition: ProcedureDefinition, current: str, done: list[str]
) -> list[dict[str, Any]]:
    steps = [
        {"key": s.key, "title": s.title_ja, "done": s.key in done, "current": s.key == current}
        for s in definition.steps
    ]
    steps.append(
        {"key": "review", "title": _("確認"), "done": False, "current": current == "review"}
    )
    return steps


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=ADMINS)
def preview_start(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str, number: int
) -> HttpResponse:
    """The procedure's page as residents see it; its button starts a fresh preview."""
    version = _version(municipality, code, number)
    definition = selectors.definition_of(version)
    if request.method == "POST":
        _save_state(request, version, {"raw": {}, "answers": {}, "done": []})
        return HttpResponseRedirect(_step_url(municipality, version, definition.steps[0]))
    return render(request, "procedures/detail.html", _context(municipality, version, definition))


def _without_file_errors(
    errors: dict[str, FieldInvalid | GroupInvalid], step: StepSpec
) -> dict[str, FieldInvalid | GroupInvalid]:
    files = {f.key for f in step.fields if f.type == "file"}
    return {k: v for k, v in errors.items() if k not in files}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=ADMINS)
def preview_step(
    request: HttpRequest,
    municipality: Municipality,
    staff: StaffContext,
    code: str,
    number: int,
    step: str,
) -> HttpResponse:
    version = _version(municipality, code, number)
    definition = selectors.definition_of(version)
    spec = definition.step(step)
    if spec is None:
        raise Http404
    index = definition.steps.index(spec)
    state = _state(request, version)
    previous = state["raw"].get(spec.key, {})
    errors: dict[str, Any] = {}
    extra_rows: dict[str, int] = {}
    searches: dict[str, wizard.BankSearch] = {}
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action", "next")
        values = wizard.parse_step(spec.fields, request.POST, previous)
        for field in spec.fields:
            if field.type == "file":
                values[field.key] = None  # a preview stores no uploads
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
        errors = _without_file_errors(dict(field_errors), spec)
        cleaned = {k: v for k, v in cleaned.items() if k not in errors}
        state["raw"][spec.key] = values
        state["answers"].update(cleaned)
        state["done"] = [s for s in state["done"] if s != spec.key] + ([] if errors else [spec.key])
        _save_state(request, version, state)
        if action == "back":
            if index == 0:
                return HttpResponseRedirect(_url("preview", municipality, version))
            return HttpResponseRedirect(
                _step_url(municipality, version, definition.steps[index - 1])
            )
        if action == "save":
            notice = _("プレビューでは途中保存のメールは送られません。")
            errors = {}
        elif action == "next" and not errors:
            if index + 1 < len(definition.steps):
                return HttpResponseRedirect(
                    _step_url(municipality, version, definition.steps[index + 1])
                )
            return HttpResponseRedirect(_url("preview-review", municipality, version))
        if action != "next":
            errors = {}
        shown = values
    else:
        shown = previous
    widgets = wizard.build_widgets(
        spec.fields, shown, errors, extra_rows=extra_rows, searches=searches
    )
    context = _context(municipality, version, definition)
    context["preview"]["notice"] = notice
    return render(
        request,
        "procedures/step.html",
        {
            **context,
            "draft": None,
            "step": spec,
            "step_number": index + 1,
            "step_count": len(definition.steps) + 1,  # the review is the last step
            "progress": _progress(definition, spec.key, state["done"]),
            "widgets": widgets,
            "errors": wizard.error_list(widgets),
            "has_files": any(f.type == "file" for f in spec.fields),
            "is_first": index == 0,
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=ADMINS)
def preview_review(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str, number: int
) -> HttpResponse:
    version = _version(municipality, code, number)
    definition = selectors.definition_of(version)
    state = _state(request, version)
    answers = state["answers"]
    _cleaned, all_errors = validate_answers(definition.fields, answers)
    files = {f.key for f in definition.fields if f.type == "file"}
    errors: dict[str, Any] = {k: v for k, v in all_errors.items() if k not in files}
    missing_steps = [s for s in definition.steps if any(f.key in errors for f in s.fields)]
    context = _context(municipality, version, definition)
    if request.method == "POST" and not missing_steps:
        return render(request, "procedures/admin/preview_done.html", context)
    sections = wizard.review_sections(
        definition, answers, errors, missing_steps, lambda s: _step_url(municipality, version, s)
    )
    return render(
        request,
        "procedures/review.html",
        {
            **context,
            "sections": sections,
            "missing_steps": missing_steps,
            "step_number": len(definition.steps) + 1,
            "step_count": len(definition.steps) + 1,
            "progress": _progress(definition, "review", state["done"]),
        },
    )
