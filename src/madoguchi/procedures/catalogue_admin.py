"""The municipality admin's pages for the procedure catalogue.

The catalogue with each procedure's versions; uploading a definition (a file or pasted text)
with its problems shown by line; a version's definition and source; publishing a version,
withdrawing a procedure and opening it again. Municipality-wide admins only: a definition
names the department that receives the applications and the roles that may move them, which
is beyond a department's supervisor. The wizard preview is in ``preview.py``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.procedures import selectors
from madoguchi.procedures.definition_source import (
    MAX_SOURCE_CHARS,
    DefinitionSourceInvalid,
    SourceProblem,
)
from madoguchi.procedures.definitions import DefinitionError
from madoguchi.procedures.models import Procedure, ProcedureVersion
from madoguchi.procedures.publishing import (
    procedure_reopen,
    procedure_version_publish,
    procedure_version_upload,
    procedure_withdraw,
)
from madoguchi.tenants.models import Municipality, Role

ADMINS = [Role.ADMIN]
_MAX_FILE_BYTES = MAX_SOURCE_CHARS * 2


def _newlines(text: str) -> str:
    # Browsers send a text box's lines with CRLF; the stored source keeps plain LF.
    return text.replace("\r\n", "\n").replace("\r", "\n")


class DefinitionUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("定義ファイル（YAML、UTF-8）"),
        required=False,
        help_text=gettext_lazy("ファイルを選ぶと、下の入力欄より優先されます。"),
    )
    text = forms.CharField(
        label=gettext_lazy("定義（YAML）を貼り付ける"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code-input"}),
        max_length=MAX_SOURCE_CHARS,
    )

    def definition_text(self) -> str:
        """The YAML text from the file (preferred) or the text box; ValidationError if none."""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            if upload.size is not None and upload.size > _MAX_FILE_BYTES:
                raise forms.ValidationError(_("ファイルが大きすぎます。"))
            raw = upload.read(_MAX_FILE_BYTES + 1)
            try:
                return _newlines(raw.decode("utf-8-sig"))
            except UnicodeDecodeError:
                raise forms.ValidationError(
                    _("ファイルを読めません。UTF-8で保存したYAMLファイルを選んでください。")
                ) from None
        text = _newlines(str(self.cleaned_data.get("text") or ""))
        if not text.strip():
            raise forms.ValidationError(
                _("定義ファイルを選ぶか、定義（YAML）を貼り付けてください。")
            )
        return text


def _url(name: str, municipality: Municipality, **kwargs: object) -> str:
    return reverse(
        f"console-procedures:{name}", kwargs={"municipality_slug": municipality.slug, **kwargs}
    )


def source_lines(text: str, problems: list[SourceProblem]) -> list[dict[str, Any]]:
    """The text's lines numbered from 1, each with the problems found on it."""
    by_line: dict[int, list[SourceProblem]] = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(problem)
    return [
        {"number": number, "text": line, "problems": by_line.get(number, [])}
        for number, line in enumerate(text.splitlines() or [""], start=1)
    ]


@require_safe
@staff_view(roles=ADMINS)
def catalogue(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    return render(
        request,
        "procedures/admin/catalogue.html",
        {
            "municipality": municipality,
            "rows": selectors.procedure_catalogue_for_admin(municipality=municipality),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=ADMINS)
def upload(request: HttpRequest, municipality: Municipality, staff: StaffContext) -> HttpResponse:
    posted = request.method == "POST"
    form = DefinitionUploadForm(request.POST if posted else None, request.FILES if posted else None)
    problems: list[SourceProblem] = []
    text = ""
    if request.method == "POST" and form.is_valid():
        try:
            text = form.definition_text()
        except forms.ValidationError as exc:
            form.add_error(None, exc)
        else:
            try:
                result = procedure_version_upload(
                    municipality=municipality, text=text, actor=staff.actor()
                )
            except DefinitionSourceInvalid as exc:
                problems = exc.problems
            else:
                version = result.version
                if result.created:
                    messages.success(
                        request,
                        _("第%(number)d版として登録しました（まだ公開していません）。")
                        % {"number": version.number},
                    )
                else:
                    messages.info(
                        request,
                        _("同じ内容の第%(number)d版がすでにあります。")
                        % {"number": version.number},
                    )
                return HttpResponseRedirect(
                    _url(
                        "version",
                        municipality,
                        code=version.procedure.code,
                        number=version.number,
                    )
                )
    errors = [str(e) for e in form.non_field_errors()] if request.method == "POST" else []
    if problems or errors:
        # Keep what was sent in the text box, so that it can be fixed there.
        form = DefinitionUploadForm(initial={"text": text or request.POST.get("text", "")})
    return render(
        request,
        "procedures/admin/upload.html",
        {
            "municipality": municipality,
            "form": form,
            "errors": errors,
            "problems": problems,
            "lines": source_lines(text, problems) if problems and text else [],
        },
        status=400 if request.method == "POST" else 200,
    )


def _procedure_or_404(municipality: Municipality, code: str) -> Procedure:
    procedure = selectors.procedure_get_for_admin(municipality=municipality, code=code)
    if procedure is None:
        raise Http404
    return procedure


def _version_or_404(municipality: Municipality, code: str, number: int) -> ProcedureVersion:
    version = selectors.procedure_version_get(municipality=municipality, code=code, number=number)
    if version is None:
        raise Http404
    return version


@require_safe
@staff_view(roles=ADMINS)
def procedure_detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str
) -> HttpResponse:
    procedure = _procedure_or_404(municipality, code)
    versions = list(selectors.procedure_versions(procedure=procedure))
    shown = procedure.current_version or (versions[0] if versions else None)
    return render(
        request,
        "procedures/admin/procedure.html",
        {
            "municipality": municipality,
            "procedure": procedure,
            "name": selectors.definition_of(shown).name_ja if shown else procedure.code,
            "versions": versions,
        },
    )


@require_safe
@staff_view(roles=ADMINS)
def version_detail(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str, number: int
) -> HttpResponse:
    version = _version_or_404(municipality, code, number)
    return render(
        request,
        "procedures/admin/version.html",
        {
            "municipality": municipality,
            "version": version,
            "procedure": version.procedure,
            "is_current": version.procedure.current_version_id == version.pk,
            "definition": selectors.definition_of(version),
            "lines": source_lines(version.source, []) if version.source else [],
        },
    )


@require_POST
@staff_view(roles=ADMINS)
def version_publish(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str, number: int
) -> HttpResponse:
    version = _version_or_404(municipality, code, number)
    try:
        procedure_version_publish(municipality=municipality, version=version, actor=staff.actor())
    except DefinitionError as exc:
        messages.error(request, _("公開できませんでした：%(reason)s") % {"reason": str(exc)})
        return HttpResponseRedirect(_url("version", municipality, code=code, number=number))
    messages.success(
        request,
        _("第%(number)d版を公開しました。住民の手続き一覧に表示されます。")
        % {"number": version.number},
    )
    return HttpResponseRedirect(_url("procedure", municipality, code=code))


@require_POST
@staff_view(roles=ADMINS)
def withdraw(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str
) -> HttpResponse:
    procedure = _procedure_or_404(municipality, code)
    if procedure_withdraw(municipality=municipality, procedure=procedure, actor=staff.actor()):
        messages.success(
            request,
            _(
                "受付を停止しました。住民の手続き一覧から外れ、新しい申請は受け付けません。"
                "受付済みの申請はこれまでどおり処理できます。"
            ),
        )
    return HttpResponseRedirect(_url("procedure", municipality, code=code))


@require_POST
@staff_view(roles=ADMINS)
def reopen(
    request: HttpRequest, municipality: Municipality, staff: StaffContext, code: str
) -> HttpResponse:
    procedure = _procedure_or_404(municipality, code)
    if procedure_reopen(municipality=municipality, procedure=procedure, actor=staff.actor()):
        messages.success(request, _("受付を再開しました。"))
    return HttpResponseRedirect(_url("procedure", municipality, code=code))
