"""Staff pages: import a CSV file, set the licence, refresh the procedure statistics.

Only a municipality-wide administrator may change what the municipality publishes.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.opendata import selectors, services
from madoguchi.opendata.catalogue import catalogue_entries
from madoguchi.opendata.forms import ImportForm, LicenceForm
from madoguchi.opendata.report import ImportMode, ImportReport
from madoguchi.tenants.models import Municipality, Role


def _here(municipality: Municipality) -> str:
    return reverse("opendata:staff", kwargs={"municipality_slug": municipality.slug})


@require_http_methods(["GET", "HEAD", "POST"])
@staff_view(roles=[Role.ADMIN])
def staff_home(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    if not staff.is_admin:  # a department's admin may not publish for the whole municipality
        raise PermissionDenied("municipality-wide admin only")
    state = selectors.publisher_state(municipality=municipality)
    import_form = ImportForm()
    licence_form = LicenceForm(initial={"licence": state.licence})
    report: ImportReport | None = None
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "import":
        import_form = ImportForm(request.POST, request.FILES)
        if import_form.is_valid():
            upload = import_form.cleaned_data["file"]
            report = services.dataset_import(
                municipality=municipality,
                dataset=import_form.cleaned_data["dataset"],
                data=upload.read(),
                mode=ImportMode(import_form.cleaned_data["mode"]),
                actor=staff.actor(),
                filename=upload.name or "",
            )
    elif request.method == "POST" and action == "licence":
        licence_form = LicenceForm(request.POST)
        if licence_form.is_valid():
            services.publisher_licence_set(
                municipality=municipality,
                licence=licence_form.cleaned_data["licence"],
                actor=staff.actor(),
            )
            messages.success(request, _("ライセンスを保存しました。"))
            return HttpResponseRedirect(_here(municipality))
    elif request.method == "POST" and action == "refresh":
        changed = services.procedure_stats_refresh(municipality=municipality)
        messages.success(
            request, _("手続きの集計を更新しました（変更 %(n)d 行）。") % {"n": changed}
        )
        return HttpResponseRedirect(_here(municipality))
    status = 400 if report is not None and not report.imported else 200
    if request.method == "POST" and action == "import" and not import_form.is_valid():
        status = 400
    return render(
        request,
        "opendata/staff.html",
        {
            "municipality": municipality,
            "import_form": import_form,
            "licence_form": licence_form,
            "report": report,
            "entries": catalogue_entries(municipality=municipality),
        },
        status=status,
    )
