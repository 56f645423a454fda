"""Open data through the data-linkage API: import a national-format CSV, fetch the files.

Scope ``opendata:write`` imports with the staff page's service (``opendata.services.
dataset_import``: the same reader, checks, modes and audit event); a refused file is 422
``import_refused`` with the reader's stable problem codes in ``details``. Scope
``opendata:read`` fetches exactly the files the public site offers (``opendata.files``).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from django.http import HttpRequest, HttpResponseNotModified, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, UploadedFile
from pydantic import ConfigDict

from madoguchi.api.clients.scopes import Scope
from madoguchi.api.errors import ApiError, ApiErrorCode, ErrorDetailOut, error_responses
from madoguchi.api.linkage.auth import ClientBearer, client_context
from madoguchi.opendata.files import (
    data_file_chunks,
    data_file_etag,
    data_file_find,
    data_file_list,
)
from madoguchi.opendata.report import ImportMode
from madoguchi.opendata.services import dataset_import

__all__ = ["router"]

router = Router(tags=["opendata"])
bearer = ClientBearer()

# The datasets the staff page imports (opendata.models.NATIONAL_DATASETS; a test keeps them equal).
NationalDataset = Literal[
    "patients", "test_people", "test_count", "confirm_negative", "call_center"
]


class _Out(Schema):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class DataFileOut(_Out):
    filename: str
    kind: str
    format: str
    content_type: str


class ImportIn(Schema):
    dataset: NationalDataset
    mode: Literal["all", "good_rows"] = "all"


class ProblemOut(_Out):
    line: int
    column: str
    code: str
    message: str


class FoldingOut(_Out):
    column: str
    original: str
    stored: str
    count: int


class ImportReportOut(_Out):
    dataset: str
    mode: str
    encoding: str
    imported: bool
    summary: str
    rows_read: int
    created: int
    updated: int
    unchanged: int
    skipped_lines: list[int]
    unknown_columns: list[str]
    ignored_columns: list[str]
    foldings: list[FoldingOut]
    problems: list[ProblemOut]


class FileQuery(Schema):
    bom: bool = True


@router.post(
    "/{municipality}/opendata/imports",
    response={200: ImportReportOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="国の項目定義の CSV を取り込む（職員画面の取り込みと同じ確認と方式）",
    operation_id="linkage_opendata_import",
)
def opendata_import(
    request: HttpRequest,
    municipality: str,
    form: Form[ImportIn],
    file: File[UploadedFile],
) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.OPENDATA_WRITE)
    report = dataset_import(
        municipality=context.municipality,
        dataset=form.dataset,
        data=file.read(),
        mode=ImportMode(form.mode),
        actor=context.actor(),
        filename=file.name or "",
    )
    if not report.imported:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.IMPORT_REFUSED,
            report.summary,
            field="file",
            details=[
                ErrorDetailOut(
                    field=p.column or "file",
                    code=str(p.code),
                    message=p.message,
                    index=p.line or None,
                )
                for p in report.problems
            ],
        )
    return {**report.as_dict(), "summary": report.summary}


@router.get(
    "/{municipality}/opendata/files",
    response={200: list[DataFileOut], **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="公開サイトで配布しているオープンデータのファイルの一覧",
    operation_id="linkage_opendata_file_list",
)
def opendata_file_list(request: HttpRequest, municipality: str) -> list[dict[str, Any]]:
    context = client_context(request, municipality, Scope.OPENDATA_READ)
    return [
        {
            "filename": f.filename,
            "kind": f.kind,
            "format": f.extension,
            "content_type": f.content_type,
        }
        for f in data_file_list(municipality=context.municipality)
    ]


@router.get(
    "/{municipality}/opendata/files/{filename}",
    response=error_responses(401, 403, 404, 422, 429),
    auth=bearer,
    summary="オープンデータのファイル（公開サイトと同じ内容、ETag 付き）",
    operation_id="linkage_opendata_file_get",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, as the public site serves it.",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object"}},
                },
            },
            304: {"description": "Not modified: the ETag given in If-None-Match is current."},
        }
    },
)
def opendata_file_get(
    request: HttpRequest, municipality: str, filename: str, query: Query[FileQuery]
) -> HttpResponseBase:
    context = client_context(request, municipality, Scope.OPENDATA_READ)
    found = data_file_find(municipality=context.municipality, filename=filename)
    if found is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.DATASET_NOT_FOUND,
            _("「%(name)s」というファイルはありません。一覧のファイル名をお使いください。")
            % {"name": filename[:100]},
        )
    etag = data_file_etag(municipality=context.municipality, file=found, bom=query.bom)
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    return StreamingHttpResponse(
        data_file_chunks(municipality=context.municipality, file=found, bom=query.bom),
        content_type=found.content_type,
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"', "ETag": etag},
    )
