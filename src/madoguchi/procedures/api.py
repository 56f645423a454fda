"""The procedures part of the JSON API: catalogue, uploads, submission and status lookup.

Endpoints parse, resolve the municipality and procedure, and delegate to the services; every
refusal is an ApiError with a stable code (see ``madoguchi.api.errors``). Paths are relative
to ``/api/v1``.
"""

from __future__ import annotations

import datetime
import re
from http import HTTPStatus
from typing import Any
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import P, Router, Schema, Status, UploadedFile
from ninja.decorators import decorate_view
from ninja.params import File, HeaderEx, QueryEx
from pydantic import ConfigDict, Field

from madoguchi.api.errors import (
    ApiError,
    ApiErrorCode,
    ErrorDetailOut,
    error_responses,
)
from madoguchi.api.limits import limit_per_client
from madoguchi.api.tenancy import municipality_or_404
from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip, client_key
from madoguchi.core.uploads import UploadRejected
from madoguchi.procedures.attachments import (
    attachment_store,
    attachments_claimed,
    file_answers_bind,
)
from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.fieldtypes import GroupInvalid, answers_json_schema
from madoguchi.procedures.models import Application, Channel, Procedure
from madoguchi.procedures.receipts import receipt_number_display
from madoguchi.procedures.selectors import (
    definition_of,
    procedure_get_published,
    procedure_list_published,
)
from madoguchi.procedures.services import (
    IdempotencyKeyReused,
    ProcedureWithdrawn,
    SubmissionInvalid,
    application_submit,
)
from madoguchi.procedures.status import (
    LookupErrorCode,
    LookupRefused,
    PublicStatus,
    status_lookup,
)
from madoguchi.tenants.models import Municipality

__all__ = ["StatusIn", "StatusOut", "lookup_refused_error", "router", "status_out"]

# Per client address and minute; status lookups use STATUS_LOOKUP_RATE_PER_CLIENT.

_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_IDEMPOTENCY_KEY = r"^[A-Za-z0-9_-]{1,64}$"
_MAX_UPLOADS = 50

router = Router(tags=["procedures"])


# --- schemas -------------------------------------------------------------------------------------


class ProcedureOut(Schema):
    code: str
    name_ja: str
    name_en: str
    description_ja: str
    department: str = Field(description="担当課の名称")
    fee: int = Field(description="手数料（円）")
    processing_days: int = Field(description="標準処理期間（開庁日）")


class StepOut(Schema):
    key: str
    title: str
    fields: list[str] = Field(description="この手順で答える項目のキー")


class ProcedureDetailOut(ProcedureOut):
    eligibility_ja: str
    fee_note_ja: str
    version: int = Field(description="定義の版。申請はその時点の版で審査されます")
    steps: list[StepOut]
    answers_schema: dict[str, Any] = Field(
        description="answers オブジェクトの JSON Schema（draft 2020-12）"
    )


class UploadOut(Schema):
    id: UUID
    token: str = Field(description="申請の uploads に id と組で渡す。再表示できません")
    content_type: str = Field(description="内容から判定した種類")
    size: int
    name: str


class UploadClaimIn(Schema):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    token: str = Field(min_length=1, max_length=128)


class ApplicationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="項目キーごとの回答。形は answers_schema のとおり")
    uploads: list[UploadClaimIn] = Field(
        default_factory=list,
        max_length=_MAX_UPLOADS,
        description="回答で使うアップロード済みファイルの id と token",
    )
    idempotency_key: str | None = Field(
        default=None,
        pattern=_IDEMPOTENCY_KEY,
        description="同じ値での再送は最初の申請を返します（Idempotency-Key ヘッダーでも可）",
    )


class ApplicationOut(Schema):
    receipt_number: str
    receipt_display: str
    secret: str | None = Field(description="照会用の確認コード。最初の応答でだけ返します")
    state: str
    state_label: str
    expected_completion: datetime.date | None


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    receipt_number: str = Field(max_length=64)
    secret: str = Field(max_length=64)


class StatusOut(Schema):
    receipt_number: str
    receipt_display: str
    procedure_name: str
    state: str
    state_label: str
    state_changed_at: datetime.datetime
    submitted_at: datetime.datetime
    expected_completion: datetime.date | None
    resident_action: str
    public_message: str
    is_final: bool


# --- helpers -------------------------------------------------------------------------------------


def _procedure_or_404(municipality: Municipality, code: str) -> Procedure:
    procedure = (
        procedure_get_published(municipality=municipality, code=code)
        if _CODE.fullmatch(code)
        else None
    )
    if procedure is None or procedure.current_version is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.PROCEDURE_NOT_FOUND,
            _("この手続きは見つかりません。手続きコードをご確認ください。"),
        )
    return procedure


def _procedure_out(procedure: Procedure, definition: ProcedureDefinition) -> dict[str, Any]:
    return {
        "code": procedure.code,
        "name_ja": definition.name_ja,
        "name_en": definition.name_en,
        "description_ja": definition.description_ja,
        "department": procedure.department.name,
        "fee": definition.fee,
        "processing_days": definition.processing_days,
    }


def _invalid_answers(exc: SubmissionInvalid) -> ApiError:
    details: list[ErrorDetailOut] = []
    for key, error in exc.errors.items():
        if isinstance(error, GroupInvalid):
            for (index, subkey), item_error in sorted(error.errors.items()):
                subfield = (
                    subkey if item_error.subfield is None else f"{subkey}.{item_error.subfield}"
                )
                details.append(
                    ErrorDetailOut(
                        field=key,
                        code=item_error.code,
                        message=item_error.message,
                        index=index,
                        subfield=subfield,
                    )
                )
            if error.count_error is not None:
                details.append(
                    ErrorDetailOut(
                        field=key, code=error.count_error.code, message=error.count_error.message
                    )
                )
        else:
            details.append(
                ErrorDetailOut(
                    field=key, code=error.code, message=error.message, subfield=error.subfield
                )
            )
    return ApiError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ApiErrorCode.INVALID_ANSWERS,
        _("回答に誤りがあります（%(count)d項目）。details をご確認ください。")
        % {"count": len(exc.errors)},
        field=next(iter(exc.errors), None),
        details=details,
    )


def _idempotency_conflict() -> ApiError:
    return ApiError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ApiErrorCode.IDEMPOTENCY_KEY_CONFLICT,
        _("この冪等キーは別の申請に使われています。新しい値を使ってください。"),
        field="idempotency_key",
    )


def _application_out(application: Application, secret: str | None) -> ApplicationOut:
    definition = definition_of(application.version)
    state = definition.states.get(application.state)
    final = state is not None and state.final
    return ApplicationOut(
        receipt_number=application.receipt_number,
        receipt_display=receipt_number_display(application.receipt_number),
        secret=secret,
        state=application.state,
        state_label=state.label_ja if state is not None else application.state,
        expected_completion=None if final else application.due_date,
    )


_LOOKUP_STATUS = {
    LookupErrorCode.RECEIPT_FORMAT: HTTPStatus.BAD_REQUEST,
    LookupErrorCode.RECEIPT_CHECK_DIGIT: HTTPStatus.BAD_REQUEST,
    LookupErrorCode.SECRET_REQUIRED: HTTPStatus.BAD_REQUEST,
    LookupErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    LookupErrorCode.RATE_LIMITED: HTTPStatus.TOO_MANY_REQUESTS,
    LookupErrorCode.LOCKED: HTTPStatus.TOO_MANY_REQUESTS,
}


def lookup_refused_error(exc: LookupRefused) -> ApiError:
    """The API's answer to a refused lookup (the error codes are the lookup's own)."""
    status = _LOOKUP_STATUS[exc.code]
    headers = (
        {"Retry-After": str(max(1, exc.retry_after))}
        if status == HTTPStatus.TOO_MANY_REQUESTS
        else {}
    )
    return ApiError(
        status, ApiErrorCode(exc.code), exc.message, field=exc.field or None, headers=headers
    )


# --- endpoints -----------------------------------------------------------------------------------


@router.get(
    "/{municipality}/procedures",
    response={200: list[ProcedureOut], **error_responses(404)},
    summary="公開中の手続きの一覧",
    operation_id="procedure_list",
)
def procedure_list(request: HttpRequest, municipality: str) -> list[dict[str, Any]]:
    tenant = municipality_or_404(municipality)
    procedures = procedure_list_published(municipality=tenant)
    return [
        _procedure_out(procedure, definition_of(procedure.current_version))
        for procedure in procedures
        if procedure.current_version is not None
    ]


@router.get(
    "/{municipality}/procedures/{code}",
    response={200: ProcedureDetailOut, **error_responses(404)},
    summary="手続きの定義（手順・項目・回答の JSON Schema）",
    operation_id="procedure_get",
)
def procedure_get(request: HttpRequest, municipality: str, code: str) -> dict[str, Any]:
    procedure = _procedure_or_404(municipality_or_404(municipality), code)
    assert procedure.current_version is not None
    definition = definition_of(procedure.current_version)
    return {
        **_procedure_out(procedure, definition),
        "eligibility_ja": definition.eligibility_ja,
        "fee_note_ja": definition.fee_note_ja,
        "version": procedure.current_version.number,
        "steps": [
            {"key": step.key, "title": step.title_ja, "fields": [f.key for f in step.fields]}
            for step in definition.steps
        ],
        "answers_schema": answers_json_schema(definition.fields),
    }


@router.post(
    "/{municipality}/uploads",
    response={201: UploadOut, **error_responses(400, 404, 413, 422, 429)},
    summary="申請に添付するファイルのアップロード",
    description=(
        "multipart/form-data の file で1件送ります。種類は内容で判定し、手続き procedure の"
        "ファイル項目 field の種類と上限で確かめます。返る id・content_type・size・name を"
        "その項目の回答に、id と token を申請の uploads に入れてください。"
    ),
    operation_id="upload_create",
)
@decorate_view(limit_per_client("api-upload", lambda: settings.API_UPLOADS_PER_MINUTE))
def upload_create(
    request: HttpRequest,
    municipality: str,
    procedure: QueryEx[str, P(max_length=63, description="手続きコード")],
    field: QueryEx[str, P(max_length=63, description="ファイル項目のキー")],
    file: File[UploadedFile],
) -> Status[UploadOut]:
    tenant = municipality_or_404(municipality)
    found = _procedure_or_404(tenant, procedure)
    assert found.current_version is not None
    spec = definition_of(found.current_version).field(field)
    if spec is None or spec.type != "file":
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.FILE_FIELD_NOT_FOUND,
            _("この手続きにはその名前のファイル項目がありません。"),
            field=field,
        )
    if file.file is None:  # the upload handler dropped it; ninja's check should have caught this
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            ApiErrorCode.MALFORMED_REQUEST,
            _("ファイルを受け取れませんでした。"),
            field=field,
        )
    try:
        attachment, token = attachment_store(
            municipality=tenant, stream=file.file, original_name=file.name or "", field=spec
        )
    except UploadRejected as exc:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY, ApiErrorCode(exc.code), exc.message, field=field
        ) from None
    return Status(
        HTTPStatus.CREATED,
        UploadOut(
            id=attachment.pk,
            token=token,
            content_type=attachment.content_type,
            size=attachment.size,
            name=attachment.original_name,
        ),
    )


@router.post(
    "/{municipality}/procedures/{code}/applications",
    response={200: ApplicationOut, 201: ApplicationOut, **error_responses(400, 404, 413, 422, 429)},
    summary="申請の送信",
    description=(
        "answers を手続きの定義で審査し、受付番号と確認コードを返します（201）。"
        "同じ冪等キーでの同じ内容の再送は最初の申請を secret なしで返します（200）。"
        "同じキーで内容が違えば 422 idempotency_key_reused で、最初の申請については答えません。"
    ),
    operation_id="application_create",
)
@decorate_view(limit_per_client("api-submit", lambda: settings.API_SUBMISSIONS_PER_MINUTE))
def application_create(
    request: HttpRequest,
    municipality: str,
    code: str,
    payload: ApplicationIn,
    idempotency_key: HeaderEx[
        str | None,
        P(
            alias="Idempotency-Key",
            pattern=_IDEMPOTENCY_KEY,
            description="本文の idempotency_key と同じ",
        ),
    ] = None,
) -> Status[ApplicationOut]:
    tenant = municipality_or_404(municipality)
    procedure = _procedure_or_404(tenant, code)
    version = procedure.current_version
    assert version is not None
    if idempotency_key and payload.idempotency_key and idempotency_key != payload.idempotency_key:
        raise _idempotency_conflict()
    key = payload.idempotency_key or idempotency_key
    definition = definition_of(version)
    claimed = attachments_claimed(
        municipality=tenant, claims=[(str(claim.id), claim.token) for claim in payload.uploads]
    )
    answers, usable = file_answers_bind(
        definition=definition, answers=payload.answers, attachments=claimed
    )
    try:
        result = application_submit(
            municipality=tenant,
            version=version,
            answers=answers,
            channel=Channel.API,
            actor=AuditActor(ip=client_ip(request), label="api"),
            owned_attachments=usable,
            idempotency_key=key,
        )
    except SubmissionInvalid as exc:
        raise _invalid_answers(exc) from None
    except IdempotencyKeyReused as exc:
        if exc.procedure_id != procedure.pk:
            raise _idempotency_conflict() from None
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.IDEMPOTENCY_KEY_REUSED,
            _("この冪等キーは別の内容の申請に使われています。新しい値を使ってください。"),
            field="idempotency_key",
        ) from None
    except ProcedureWithdrawn:
        # Withdrawn between the lookup and the submission: the same answer as a withdrawn
        # procedure gets from the lookup itself.
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.PROCEDURE_NOT_FOUND,
            _("この手続きは見つかりません。手続きコードをご確認ください。"),
        ) from None
    application = result.application
    if not result.created and application.procedure_id != procedure.pk:
        raise _idempotency_conflict()
    return Status(
        HTTPStatus.CREATED if result.created else HTTPStatus.OK,
        _application_out(application, result.secret),
    )


@router.post(
    "/{municipality}/status",
    response={200: StatusOut, **error_responses(400, 404, 413, 422, 429)},
    summary="受付番号と確認コードによる状況の照会",
    description=(
        "確認コードがアクセスログに残らないよう POST で送ります。番号の誤りと確認コードの誤りは"
        "同じ 404 not_found で答えます。同じ番号で誤りが続いたクライアントには、その番号は"
        "一時的に 429 receipt_locked です。"
    ),
    operation_id="status_lookup",
)
def status_get(request: HttpRequest, municipality: str, payload: StatusIn) -> StatusOut:
    tenant = municipality_or_404(municipality)
    try:
        status = status_lookup(
            municipality=tenant,
            receipt_text=payload.receipt_number,
            secret_text=payload.secret,
            # Shared with the web page and LINE: one budget per client address.
            client=client_key(request, "status"),
        )
    except LookupRefused as exc:
        raise lookup_refused_error(exc) from None
    return StatusOut(**status_out(status))


def status_out(status: PublicStatus) -> dict[str, Any]:
    """The fields of ``StatusOut``, as the API renders them (the short path renders this dict
    without building the model, ``madoguchi.api.status_path``)."""
    return {
        "receipt_number": status.receipt_number,
        "receipt_display": status.receipt_display,
        "procedure_name": status.procedure_name,
        "state": status.state,
        "state_label": status.state_label,
        "state_changed_at": timezone.localtime(status.state_changed_at),
        "submitted_at": timezone.localtime(status.submitted_at),
        "expected_completion": status.expected_completion,
        "resident_action": status.resident_action,
        "public_message": status.public_message,
        "is_final": status.is_final,
    }
