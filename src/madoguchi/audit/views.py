"""Municipality admins browse and export their own audit log."""

from __future__ import annotations

import csv
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from madoguchi.accounts.permissions import StaffContext, staff_view
from madoguchi.audit.forms import AuditFilterForm
from madoguchi.audit.selectors import audit_entries_for_municipality
from madoguchi.audit.services import audit_event
from madoguchi.core.csvutil import csv_cell
from madoguchi.tenants.models import Municipality, Role

_PAGE_SIZE = 50
_EXPORT_LIMIT = 100_000


def _filters(form: AuditFilterForm) -> dict[str, Any]:
    if not form.is_valid():
        return {}
    return {key: value for key, value in form.cleaned_data.items() if value}


@require_safe
@staff_view(roles=[Role.ADMIN])
def audit_log(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    entries = audit_entries_for_municipality(municipality=municipality, **_filters(form))
    page = None if invalid else Paginator(entries, _PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "municipality": municipality,
            "form": form,
            "page": page,
            "query": query.urlencode(),
        },
        status=400 if invalid else 200,
    )


@require_safe
@staff_view(roles=[Role.ADMIN])
def audit_export(
    request: HttpRequest, municipality: Municipality, staff: StaffContext
) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # A mistyped filter must not silently download the whole log.
        return render(
            request,
            "audit/log.html",
            {"municipality": municipality, "form": form, "page": None, "query": ""},
            status=400,
        )
    filters = _filters(form)
    entries = audit_entries_for_municipality(municipality=municipality, **filters)
    audit_event(
        municipality=municipality,
        action="audit.export",
        actor=staff.actor(),
        data={key: str(value) for key, value in filters.items()},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{municipality.code}-{stamp}.csv"'
    )
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer = csv.writer(response)
    writer.writerow(
        [
            "seq",
            "日時",
            "種別",
            "操作",
            "操作者",
            "部署",
            "対象の種類",
            "対象のID",
            "目的",
            "IPアドレス",
            "hash",
        ]
    )
    for entry in entries[:_EXPORT_LIMIT].iterator(chunk_size=2000):
        writer.writerow(
            csv_cell(value)
            for value in [
                entry.seq,
                timezone.localtime(entry.created_at).isoformat(timespec="seconds"),
                entry.kind,
                entry.action,
                entry.actor_label,
                entry.department_label,
                entry.object_type,
                entry.object_id,
                entry.purpose,
                entry.ip,
                entry.hash,
            ]
        )
    return response
