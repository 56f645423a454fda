"""Public pages: the dashboard, the catalogue, the data files, and the prefecture view.

Everything works without JavaScript. Data files are open to any origin (CORS ``*``), carry an
ETag of the data version, and stream, so a million-row file is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from madoguchi.opendata import pages, selectors
from madoguchi.opendata.catalogue import catalogue_entries, dcat_catalog, dcat_site_catalog
from madoguchi.opendata.dashboard import Period, dashboard_title
from madoguchi.opendata.files import data_file_chunks, data_file_etag, data_file_find
from madoguchi.opendata.models import LICENCE_URLS, Licence
from madoguchi.opendata.prefecture import prefecture_file, prefecture_title
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import municipality_get_by_code, municipality_list_active

_OPEN = {"Access-Control-Allow-Origin": "*"}


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "404.html", {"message": message}, status=404)


@require_safe
def dashboard(request: HttpRequest, municipality_slug: str) -> HttpResponseBase:
    """The dashboard, from the page cache when this visitor may share it."""
    key = pages.page_key(request, slug=municipality_slug)
    if key is not None and (parts := pages.page_cached(key)) is not None:
        return pages.page_response(request, parts)
    return _dashboard(request, municipality_slug, page_key=key)


@municipality_view
def _dashboard(
    request: HttpRequest, municipality: Municipality, page_key: str | None
) -> HttpResponse:
    period = Period.parse(request.GET.get("period"))
    context = {
        "municipality": municipality,
        "title": dashboard_title(municipality),
        "body": pages.dashboard_body(municipality=municipality, period=period),
    }
    if page_key is None:
        return render(request, "opendata/dashboard.html", context)
    shared = {**context, "csrf_token": pages.CSRF_PLACEHOLDER, "messages": ()}
    html = render_to_string("opendata/dashboard.html", shared, request=request)
    return pages.page_response(request, pages.page_store(page_key, html))


@require_safe
@municipality_view
def catalogue(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    state = selectors.publisher_state(municipality=municipality)
    return render(
        request,
        "opendata/catalogue.html",
        {
            "municipality": municipality,
            "entries": catalogue_entries(municipality=municipality),
            "licence": Licence(state.licence).label,
            "licence_url": LICENCE_URLS[state.licence],
        },
    )


@require_safe
@municipality_view
def catalogue_json(request: HttpRequest, municipality: Municipality) -> JsonResponse:
    with translation.override("ja"):
        document = dcat_catalog(municipality=municipality, absolute=request.build_absolute_uri)
    return JsonResponse(
        document,
        content_type="application/ld+json",
        json_dumps_params={"ensure_ascii": False},
        headers=_OPEN,
    )


def _streamed(
    chunks: Iterator[bytes], content_type: str, filename: str, etag: str
) -> StreamingHttpResponse:
    disposition = "attachment" if content_type.startswith("text/csv") else "inline"
    return StreamingHttpResponse(
        chunks,
        content_type=content_type,
        headers={
            **_OPEN,
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "ETag": etag,
            "Cache-Control": "public, max-age=60",
        },
    )


@require_safe
@municipality_view
def data_file(request: HttpRequest, municipality: Municipality, filename: str) -> HttpResponseBase:
    """A dataset as CSV (``?bom=0`` for no BOM) or JSON, by its standard file name."""
    bom = request.GET.get("bom", "1") != "0"
    found = data_file_find(municipality=municipality, filename=filename)
    if found is not None:
        etag = data_file_etag(municipality=municipality, file=found, bom=bom)
        if request.headers.get("If-None-Match") == etag:
            return HttpResponseNotModified(headers={"ETag": etag})
        chunks = data_file_chunks(municipality=municipality, file=found, bom=bom)
        return _streamed(chunks, found.content_type, filename, etag)
    return _not_found(
        request,
        _("「%(name)s」というファイルはありません。オープンデータの一覧からお選びください。")
        % {"name": filename},
    )


# --- across municipalities --------------------------------------------------------------------


@require_safe
def site_index(request: HttpRequest) -> HttpResponse:
    """Every served municipality's dashboard and catalogue, grouped by prefecture."""
    groups: dict[str, tuple[Municipality | None, list[tuple[Municipality, str]]]] = {}
    for municipality in municipality_list_active():
        prefecture = municipality.prefecture if not municipality.is_prefecture else municipality
        key = prefecture.code if prefecture else ""
        entry = (municipality, dashboard_title(municipality, html=True))
        groups.setdefault(key, (prefecture, []))[1].append(entry)
    return render(request, "opendata/index.html", {"groups": list(groups.values())})


@require_safe
def site_catalogue_json(request: HttpRequest) -> JsonResponse:
    with translation.override("ja"):
        document = dcat_site_catalog(
            municipalities=list(municipality_list_active()),
            absolute=request.build_absolute_uri,
        )
    return JsonResponse(
        document,
        content_type="application/ld+json",
        json_dumps_params={"ensure_ascii": False},
        headers=_OPEN,
    )


def _prefecture(code: str) -> Municipality | None:
    prefecture = municipality_get_by_code(code=code)
    if prefecture is None or not prefecture.is_prefecture:
        return None
    return prefecture


def _no_prefecture(request: HttpRequest, code: str) -> HttpResponse:
    return _not_found(
        request,
        _("都道府県のコード「%(code)s」は見つかりません。一覧からお選びください。")
        % {"code": code},
    )


@require_safe
def prefecture_dashboard(request: HttpRequest, code: str) -> HttpResponse:
    prefecture = _prefecture(code)
    if prefecture is None:
        return _no_prefecture(request, code)
    members = selectors.prefecture_members(prefecture=prefecture)
    body = pages.prefecture_body(prefecture=prefecture, members=members)
    return render(
        request,
        "opendata/prefecture.html",
        {"prefecture": prefecture, "title": prefecture_title(prefecture), "body": body},
    )


@require_safe
def prefecture_data_file(request: HttpRequest, code: str, filename: str) -> HttpResponse:
    prefecture = _prefecture(code)
    if prefecture is None:
        return _no_prefecture(request, code)
    members = selectors.prefecture_members(prefecture=prefecture)
    found = prefecture_file(
        prefecture=prefecture,
        members=members,
        filename=filename,
        bom=request.GET.get("bom", "1") != "0",
    )
    if found is None:
        return _not_found(
            request, _("「%(name)s」というファイルはありません。") % {"name": filename}
        )
    content, content_type = found
    disposition = "attachment" if content_type.startswith("text/csv") else "inline"
    return HttpResponse(
        content,
        content_type=content_type,
        headers={**_OPEN, "Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
