"""全銀 transfer files through the data-linkage API (scope ``payments:export``).

The file is made by the console's service, ``procedures.transfers.transfer_export``: the same
payable procedures, the same refusal of a file with any bad payment, the same access entry on
every application in it and the same audit event. The API keeps the file (encrypted) so that
the client can fetch it again; each fetch leaves another access entry on every application.
"""

from __future__ import annotations

import base64
import datetime
from http import HTTPStatus
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from madoguchi.api.clients.scopes import Scope
from madoguchi.api.errors import ApiError, ApiErrorCode, ErrorDetailOut, error_responses
from madoguchi.api.linkage.auth import ClientBearer, ClientContext, client_context
from madoguchi.api.linkage.models import ClientTransferExport
from madoguchi.api.linkage.schemas import NO_NUL
from madoguchi.audit.services import audit_access_many
from madoguchi.procedures import transfers
from madoguchi.procedures.models import Application, TransferAccount
from madoguchi.procedures.zengin import Remitter

__all__ = ["router"]

router = Router(tags=["payments"])
bearer = ClientBearer()

_FETCH_PURPOSE = "API クライアント「{name}」による振込データの取得"  # shown to the resident
_CONTENT_TYPES = {"zengin": "text/plain; charset=shift_jis", "csv": "text/csv; charset=utf-8"}


class RemitterIn(Schema):
    """振込依頼人: the municipality's paying account, as on the console's export page."""

    model_config = ConfigDict(extra="forbid")

    requester_code: str = Field(max_length=60, pattern=NO_NUL)
    requester_name: str = Field(max_length=60, pattern=NO_NUL)
    bank_code: str = Field(max_length=60, pattern=NO_NUL)
    bank_name: str = Field(default="", max_length=60, pattern=NO_NUL)
    branch_code: str = Field(max_length=60, pattern=NO_NUL)
    branch_name: str = Field(default="", max_length=60, pattern=NO_NUL)
    account_type: str = Field(default="1", max_length=60, pattern=NO_NUL)
    account_number: str = Field(max_length=60, pattern=NO_NUL)


class TransferExportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    procedure: str = Field(min_length=1, max_length=63, pattern=NO_NUL)
    state: str = Field(default="transfer_pending", min_length=1, max_length=40, pattern=NO_NUL)
    transfer_date: datetime.date | None = None
    format: Literal["zengin", "csv"] = "zengin"
    remitter: RemitterIn | None = None


class TransferExportOut(Schema):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: int
    procedure_code: str
    state: str
    format: str
    transfer_date: datetime.date
    filename: str
    count: int
    total: int
    created_at: datetime.datetime


class TransferExportFilters(Schema):
    limit: int = Field(default=50, ge=1, le=200)


def _out(export: ClientTransferExport) -> dict[str, Any]:
    return {
        "id": export.pk,
        "procedure_code": export.procedure.code,
        "state": export.state,
        "format": export.format,
        "transfer_date": export.transfer_date,
        "filename": export.filename,
        "count": export.count,
        "total": export.total,
        "created_at": export.created_at,
    }


def _remitter(context: ClientContext, given: RemitterIn | None, day: datetime.date) -> Remitter:
    """The remitter sent, or the one the console or the API saved last time."""
    if given is not None:
        return Remitter(transfer_date=day, **given.model_dump())
    saved = TransferAccount.objects.filter(municipality=context.municipality).first()
    if saved is None:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.REMITTER_REQUIRED,
            _("振込元の口座（remitter）を指定してください。保存された口座がまだありません。"),
            field="remitter",
        )
    return Remitter(
        requester_code=saved.requester_code,
        requester_name=saved.requester_name,
        transfer_date=day,
        bank_code=saved.bank_code,
        bank_name=saved.bank_name,
        branch_code=saved.branch_code,
        branch_name=saved.branch_name,
        account_type=saved.account_type,
        account_number=saved.account_number,
    )


def _refused(messages: list[str], field: str | None = None) -> ApiError:
    return ApiError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ApiErrorCode.TRANSFER_REFUSED,
        _("振込データを作れませんでした。details の問題を直してください。"),
        field=field,
        details=[
            ErrorDetailOut(field=field or "applications", code="transfer_refused", message=m)
            for m in messages
        ],
    )


@router.post(
    "/{municipality}/payments/exports",
    response={201: TransferExportOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="振込データ（全銀協 総合振込）を作る（職員画面の振込データ作成と同じ規則）",
    operation_id="linkage_transfer_export_create",
)
def transfer_export_create(
    request: HttpRequest, municipality: str, payload: TransferExportIn
) -> Status[dict[str, Any]]:
    context = client_context(request, municipality, Scope.PAYMENTS_EXPORT)
    payable = dict(transfers.payable_procedures(municipality=context.municipality))
    procedure = next((p for p in payable if p.code == payload.procedure), None)
    if procedure is None:
        raise _refused([_("振込を行う手続きを選んでください。")], "procedure")
    if payload.state not in payable[procedure].states:
        raise _refused([_("対象の状態を選んでください。")], "state")
    day = payload.transfer_date or transfers.default_transfer_date(timezone.localdate())
    remitter = _remitter(context, payload.remitter, day)
    with transaction.atomic():
        try:
            made = transfers.transfer_export(
                staff=context.staff,
                procedure=procedure,
                state=payload.state,
                remitter=remitter,
                fmt=payload.format,
                departments=None,
            )
        except transfers.TransferRefused as refused:
            raise _refused(refused.messages) from None
        transfers.transfer_account_save(staff=context.staff, remitter=remitter)
        export = ClientTransferExport.objects.create(
            municipality=context.municipality,
            client=context.client,
            procedure=procedure,
            state=payload.state,
            format=payload.format,
            transfer_date=day,
            filename=made.filename,
            count=made.count,
            total=made.total,
            content=base64.b64encode(made.content).decode("ascii"),
            application_ids=list(made.application_ids),
        )
    return Status(201, _out(export))


@router.get(
    "/{municipality}/payments/exports",
    response={200: list[TransferExportOut], **error_responses(401, 403, 404, 422, 429)},
    auth=bearer,
    summary="このクライアントが作った振込データの一覧（新しい順）",
    operation_id="linkage_transfer_export_list",
)
def transfer_export_list(
    request: HttpRequest, municipality: str, filters: Query[TransferExportFilters]
) -> list[dict[str, Any]]:
    context = client_context(request, municipality, Scope.PAYMENTS_EXPORT)
    found = (
        ClientTransferExport.objects.filter(client=context.client)
        .select_related("procedure")
        .order_by("-pk")[: filters.limit]
    )
    return [_out(e) for e in found]


@router.get(
    "/{municipality}/payments/exports/{export_id}",
    response=error_responses(401, 403, 404, 422, 429),
    auth=bearer,
    summary="振込データのファイル（全銀は Shift_JIS の text/plain、CSV は UTF-8）",
    operation_id="linkage_transfer_export_get",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, byte for byte as the console gives it.",
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def transfer_export_get(request: HttpRequest, municipality: str, export_id: int) -> HttpResponse:
    context = client_context(request, municipality, Scope.PAYMENTS_EXPORT)
    export = (
        ClientTransferExport.objects.filter(client=context.client, pk=export_id).first()
        if 0 < export_id < 2**63
        else None
    )
    if export is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.TRANSFER_EXPORT_NOT_FOUND,
            _("その振込データはありません。"),
        )
    applications = Application.objects.filter(
        municipality=context.municipality, pk__in=export.application_ids
    ).select_related("department")
    audit_access_many(
        municipality=context.municipality,
        purpose=_FETCH_PURPOSE.format(name=context.client.name)[:200],
        accesses=[(context.staff.actor(a.department), a) for a in applications],
        action="export_transfer",
    )
    response = HttpResponse(
        base64.b64decode(export.content), content_type=_CONTENT_TYPES[export.format]
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response
