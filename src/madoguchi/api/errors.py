"""One error shape for the whole JSON API, and the stable codes clients key on.

Every refusal, whoever raises it (an endpoint, ninja's request validation, Django's request
parsing), is answered as::

    {"error": {"code": "<ApiErrorCode>", "message": "<Japanese>", "field": "<key or null>",
               "details": [{"field", "code", "message", "index", "subfield"}]}}

``code`` is stable and what a client branches on; ``message`` is for people and may change.
Nothing a client can send is a 500: a 500 means a bug, and its body has the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from http import HTTPStatus
from json import JSONDecodeError
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError
from pydantic import ConfigDict

from madoguchi.core.dbfailure import (
    RETRY_AFTER_SECONDS,
    is_database_unavailable,
    unavailable_response,
)
from madoguchi.core.readonly import ReadOnlyError

__all__ = [
    "ERROR_CODE_HELP",
    "ApiError",
    "ApiErrorCode",
    "ErrorBodyOut",
    "ErrorDetailOut",
    "ErrorOut",
    "MalformedJson",
    "body_too_large",
    "busy",
    "endpoint_not_found",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "invalid_request",
    "malformed_request",
    "method_not_allowed",
    "rate_limited",
    "read_only",
    "service_unavailable",
]

logger = logging.getLogger(__name__)


class ApiErrorCode(StrEnum):
    """Stable codes of API errors. Values of the domain enums are reused unchanged."""

    # The request as a whole
    MALFORMED_JSON = "malformed_json"
    MALFORMED_REQUEST = "malformed_request"
    INVALID_REQUEST = "invalid_request"
    BODY_TOO_LARGE = "body_too_large"
    ENDPOINT_NOT_FOUND = "endpoint_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RATE_LIMITED = "rate_limited"  # also LookupErrorCode.RATE_LIMITED
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"

    BUSY = "busy"  # admission control: madoguchi.core.admission
    READ_ONLY = "read_only"  # madoguchi.core.readonly
    # Tenancy and catalogue
    MUNICIPALITY_NOT_FOUND = "municipality_not_found"
    PROCEDURE_NOT_FOUND = "procedure_not_found"
    FILE_FIELD_NOT_FOUND = "file_field_not_found"
    # Submissions
    INVALID_ANSWERS = "invalid_answers"
    IDEMPOTENCY_KEY_CONFLICT = "idempotency_key_conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    # Uploads: madoguchi.core.uploads.UploadErrorCode
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TYPE_NOT_ALLOWED = "type_not_allowed"
    # Status lookup: madoguchi.procedures.status.LookupErrorCode
    RECEIPT_FORMAT = "receipt_format"
    RECEIPT_CHECK_DIGIT = "receipt_check_digit"
    SECRET_REQUIRED = "secret_required"  # noqa: S105 - a code, not a secret
    NOT_FOUND = "not_found"
    RECEIPT_LOCKED = "receipt_locked"
    # Data-linkage API (API clients): madoguchi.api.linkage
    UNAUTHORIZED = "unauthorized"
    SCOPE_MISSING = "scope_missing"
    APPLICATION_NOT_FOUND = "application_not_found"
    # Workflow: madoguchi.procedures.workflow.TransitionErrorCode
    UNKNOWN_STATE = "unknown_state"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    STALE = "stale"
    REASON_REQUIRED = "reason_required"
    MISSING_ITEMS_REQUIRED = "missing_items_required"
    NOTE_EMPTY = "note_empty"
    # Webhooks: madoguchi.api.webhooks
    WEBHOOK_URL_NOT_PUBLIC = "webhook_url_not_public"
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    # Case register (health-centre scopes): madoguchi.api.linkage.cases; the details carry
    # madoguchi.surveillance.errors.ErrorCode values
    CASE_NOT_FOUND = "case_not_found"
    CLINIC_NOT_FOUND = "clinic_not_found"
    NOTIFICATION_INVALID = "notification_invalid"
    CASE_UPDATE_INVALID = "case_update_invalid"
    # 全銀 transfer files: madoguchi.procedures.transfers
    TRANSFER_REFUSED = "transfer_refused"
    REMITTER_REQUIRED = "remitter_required"
    TRANSFER_EXPORT_NOT_FOUND = "transfer_export_not_found"
    # Consultations inbox: madoguchi.consultation.errors.ConsultationErrorCode
    CONVERSATION_NOT_FOUND = "conversation_not_found"
    MESSAGE_EMPTY = "message_empty"
    MESSAGE_TOO_LONG = "message_too_long"
    # Open data: madoguchi.opendata.errors.ProblemCode in details
    DATASET_NOT_FOUND = "dataset_not_found"
    IMPORT_REFUSED = "import_refused"


# For the documentation page and the OpenAPI description: the HTTP status and what it means.
ERROR_CODE_HELP: Mapping[ApiErrorCode, tuple[int, str]] = {
    ApiErrorCode.MALFORMED_JSON: (
        400,
        "本文が JSON として読めません（NaN や対のないサロゲートも不可）。",
    ),
    ApiErrorCode.MALFORMED_REQUEST: (400, "リクエストを読み取れません（壊れた multipart など）。"),
    ApiErrorCode.INVALID_REQUEST: (
        422,
        "リクエストの形が仕様と違います。details に場所を示します。",
    ),
    ApiErrorCode.BODY_TOO_LARGE: (413, "リクエストの本文が大きすぎます。"),
    ApiErrorCode.ENDPOINT_NOT_FOUND: (404, "そのURLのAPIはありません。"),
    ApiErrorCode.METHOD_NOT_ALLOWED: (405, "そのURLでは使えないメソッドです。"),
    ApiErrorCode.RATE_LIMITED: (
        429,
        "短時間の要求が多すぎます。Retry-After 秒後に再試行できます。",
    ),
    ApiErrorCode.INTERNAL_ERROR: (500, "サーバーの不具合です。"),
    ApiErrorCode.SERVICE_UNAVAILABLE: (
        503,
        "一時的に使えません（データベースの障害など）。Retry-After 秒後に再試行できます。",
    ),
    ApiErrorCode.BUSY: (
        503,
        "混み合っているため受け付けませんでした（何も保存していません）。"
        "Retry-After 秒後に同じ内容で再送できます。",
    ),
    ApiErrorCode.READ_ONLY: (
        503,
        "メンテナンス中で閲覧のみ受け付けています（何も保存していません）。"
        "Retry-After 秒後に再試行できます。",
    ),
    ApiErrorCode.MUNICIPALITY_NOT_FOUND: (
        404,
        "その自治体はありません（または公開していません）。",
    ),
    ApiErrorCode.PROCEDURE_NOT_FOUND: (404, "その手続きはありません（または公開していません）。"),
    ApiErrorCode.FILE_FIELD_NOT_FOUND: (
        422,
        "その手続きにファイルを添付する項目 field がありません。",
    ),
    ApiErrorCode.INVALID_ANSWERS: (
        422,
        "回答に誤りがあります。details に項目ごとの誤りを示します。",
    ),
    ApiErrorCode.IDEMPOTENCY_KEY_CONFLICT: (
        422,
        "同じ冪等キーが別の手続きの申請、または本文とヘッダーで別の値に使われています。",
    ),
    ApiErrorCode.IDEMPOTENCY_KEY_REUSED: (
        422,
        "同じ冪等キーが、別の回答の申請にすでに使われています（最初の申請については答えません）。",
    ),
    ApiErrorCode.EMPTY: (422, "ファイルが空です。"),
    ApiErrorCode.TOO_LARGE: (422, "ファイルがその項目の上限を超えています。"),
    ApiErrorCode.TYPE_NOT_ALLOWED: (
        422,
        "その項目では受け付けない種類のファイルです（内容で判定）。",
    ),
    ApiErrorCode.RECEIPT_FORMAT: (400, "受付番号が10桁の数字ではありません。"),
    ApiErrorCode.RECEIPT_CHECK_DIGIT: (400, "受付番号のチェックディジットが合いません。"),
    ApiErrorCode.SECRET_REQUIRED: (400, "確認コードが空です。"),
    ApiErrorCode.NOT_FOUND: (404, "受付番号または確認コードが違います（どちらかは答えません）。"),
    ApiErrorCode.RECEIPT_LOCKED: (
        429,
        "確認コードの誤りが続いたため、その受付番号は一時的に照会できません。",
    ),
    ApiErrorCode.UNAUTHORIZED: (
        401,
        "アクセストークンがないか、期限切れ・無効です。トークンを取り直してください。",
    ),
    ApiErrorCode.SCOPE_MISSING: (
        403,
        "このクライアントには、この操作の権限（スコープ）がありません。",
    ),
    ApiErrorCode.APPLICATION_NOT_FOUND: (404, "その受付番号の申請はありません。"),
    ApiErrorCode.UNKNOWN_STATE: (422, "その状態はこの手続きにありません。"),
    ApiErrorCode.TRANSITION_NOT_ALLOWED: (409, "今の状態からその状態には変更できません。"),
    ApiErrorCode.ROLE_NOT_ALLOWED: (403, "このクライアントの権限ではその変更はできません。"),
    ApiErrorCode.STALE: (
        409,
        "expected_state の後に申請の状態が変わりました。何も変えていません。",
    ),
    ApiErrorCode.REASON_REQUIRED: (422, "その変更には理由 reason が必要です。"),
    ApiErrorCode.MISSING_ITEMS_REQUIRED: (
        422,
        "追加書類のお願いには missing_items が必要です（一括変更ではできません）。",
    ),
    ApiErrorCode.NOTE_EMPTY: (422, "メモの本文が空です。"),
    ApiErrorCode.WEBHOOK_URL_NOT_PUBLIC: (
        422,
        "Webhook の送信先がループバック・プライベート・リンクローカルなど"
        "公開されていないアドレスです。",
    ),
    ApiErrorCode.WEBHOOK_NOT_FOUND: (404, "その Webhook の購読はありません。"),
    ApiErrorCode.CASE_NOT_FOUND: (404, "その患者（症例）はありません。"),
    ApiErrorCode.CLINIC_NOT_FOUND: (
        422,
        "clinic がこの自治体の保健所に登録された医療機関ではありません。",
    ),
    ApiErrorCode.NOTIFICATION_INVALID: (
        422,
        "発生届に誤りがあります（何も保存していません）。details に項目ごとの誤りを示します。",
    ),
    ApiErrorCode.CASE_UPDATE_INVALID: (
        422,
        "患者の更新に誤りがあります（何も変えていません）。details に項目の誤りを示します。",
    ),
    ApiErrorCode.TRANSFER_REFUSED: (
        422,
        "振込データを作れません（対象の申請がない、口座に誤りがあるなど）。"
        "details に問題ごとの説明を示します。何も作っていません。",
    ),
    ApiErrorCode.REMITTER_REQUIRED: (
        422,
        "振込元口座 remitter がなく、以前に保存した口座もありません。",
    ),
    ApiErrorCode.TRANSFER_EXPORT_NOT_FOUND: (
        404,
        "その振込データはありません（このクライアントが作ったものだけ取得できます）。",
    ),
    ApiErrorCode.CONVERSATION_NOT_FOUND: (
        404,
        "その相談はありません（このクライアントの自治体の、職員が見られる相談だけです）。",
    ),
    ApiErrorCode.MESSAGE_EMPTY: (422, "返信の本文が空です。"),
    ApiErrorCode.MESSAGE_TOO_LONG: (422, "返信が長すぎます。"),
    ApiErrorCode.DATASET_NOT_FOUND: (404, "その名前のオープンデータのファイルはありません。"),
    ApiErrorCode.IMPORT_REFUSED: (
        422,
        "CSV を取り込みませんでした（何も保存していません）。"
        "details の code に問題の種類、index に CSV の行番号を示します。",
    ),
}


class ErrorDetailOut(Schema):
    # Every key is always present in a response, null or not; the schema says so.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    field: str
    code: str
    message: str
    index: int | None = None  # the item of a repeating group, from 0
    subfield: str | None = None  # the failing part of a compound answer or group item


class ErrorBodyOut(Schema):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    code: ApiErrorCode
    message: str
    field: str | None = None
    details: list[ErrorDetailOut] = []


class ErrorOut(Schema):
    error: ErrorBodyOut


class ApiError(Exception):
    """A refusal to answer with the error shape; raise it from endpoints."""

    def __init__(
        self,
        status: int,
        code: ApiErrorCode,
        message: str,
        *,
        field: str | None = None,
        details: Sequence[ErrorDetailOut] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = list(details)
        self.headers = dict(headers or {})


class MalformedJson(ValueError):  # noqa: N818 - read as "the body is malformed JSON"
    """Raised by the API's parser for JSON that Python reads but the API refuses."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_response(error: ApiError) -> HttpResponse:
    body = ErrorOut(
        error=ErrorBodyOut(
            code=error.code, message=error.message, field=error.field, details=error.details
        )
    )
    response = JsonResponse(
        body.model_dump(mode="json"), status=error.status, json_dumps_params={"ensure_ascii": False}
    )
    for name, value in error.headers.items():
        response[name] = value
    response["Content-Language"] = "ja"
    return response


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """``response=`` entries documenting the error shape for these statuses."""
    return dict.fromkeys(statuses, ErrorOut)


def rate_limited(retry_after: int) -> ApiError:
    minutes = max(1, (retry_after + 59) // 60)
    return ApiError(
        HTTPStatus.TOO_MANY_REQUESTS,
        ApiErrorCode.RATE_LIMITED,
        _("短時間に多くのリクエストがありました。%(minutes)d分ほどたってからお試しください。")
        % {"minutes": minutes},
        headers={"Retry-After": str(max(1, retry_after))},
    )


def service_unavailable() -> ApiError:
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        ApiErrorCode.SERVICE_UNAVAILABLE,
        _("ただいまご利用いただけません。しばらくたってからもう一度お試しください。"),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def service_unavailable_response() -> HttpResponse:
    """The answer to a request that found the database unavailable (see core.dbfailure)."""
    with translation.override("ja"):
        return error_response(service_unavailable())


def busy(retry_after: int) -> ApiError:
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        ApiErrorCode.BUSY,
        _(
            "ただいま混み合っています。受け付けていません（何も保存していません）。"
            "%(seconds)d秒ほどたってから同じ内容でお試しください。"
        )
        % {"seconds": max(1, retry_after)},
        headers={"Retry-After": str(max(1, retry_after))},
    )


def read_only(retry_after: int) -> ApiError:
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        ApiErrorCode.READ_ONLY,
        _(
            "ただいまメンテナンス中のため、照会のみ受け付けています（何も保存していません）。"
            "しばらくたってからお試しください。"
        ),
        headers={"Retry-After": str(max(1, retry_after))},
    )


def method_not_allowed(allowed: str) -> ApiError:
    return ApiError(
        HTTPStatus.METHOD_NOT_ALLOWED,
        ApiErrorCode.METHOD_NOT_ALLOWED,
        _("このURLでは %(allowed)s だけが使えます。") % {"allowed": allowed},
        headers={"Allow": allowed},
    )


def endpoint_not_found() -> ApiError:
    return ApiError(
        HTTPStatus.NOT_FOUND,
        ApiErrorCode.ENDPOINT_NOT_FOUND,
        _("このURLのAPIはありません。/api/docs をご覧ください。"),
    )


def body_too_large() -> ApiError:
    return ApiError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        ApiErrorCode.BODY_TOO_LARGE,
        _("リクエストが大きすぎます。"),
    )


def malformed_request() -> ApiError:
    return ApiError(
        HTTPStatus.BAD_REQUEST,
        ApiErrorCode.MALFORMED_REQUEST,
        _("リクエストを読み取れませんでした。"),
    )


# --- ninja's request validation -----------------------------------------------------------------


def _location(loc: Iterable[Any]) -> str:
    """``("body", "payload", "uploads", 0, "id")`` -> ``uploads[0].id``; the source is dropped,
    and for the body also the parameter name, which is not part of what the client sent."""
    parts = list(loc)
    parts = parts[2:] if parts[:1] == ["body"] else parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _validation_message(kind: str, context: Mapping[str, Any]) -> str:
    if kind == "missing":
        return _("必須の項目がありません。")
    if kind == "extra_forbidden":
        return _("この項目は受け付けていません。")
    if kind == "string_too_long" and isinstance(context.get("max_length"), int):
        return _("%(max)d文字以内にしてください。") % {"max": context["max_length"]}
    if kind == "string_too_short":
        return _("空にはできません。")
    if kind == "too_long" and isinstance(context.get("max_length"), int):
        return _("%(max)d件以内にしてください。") % {"max": context["max_length"]}
    if kind == "string_pattern_mismatch":
        return _("使えない文字が含まれています。")
    if kind.startswith("uuid"):
        return _("IDの形式が正しくありません。")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return _("値の型が正しくありません。")
    return _("値が正しくありません。")


def field_invalid(field: str, code: str, message: str) -> ApiError:
    """A 422 about one field of the request, with the field's own code."""
    return ApiError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ApiErrorCode.INVALID_REQUEST,
        _("リクエストの内容が仕様と合いません。details をご確認ください。"),
        details=[ErrorDetailOut(field=field, code=code, message=message)],
    )


def invalid_request(errors: Iterable[Mapping[str, Any]]) -> ApiError:
    details = []
    for item in errors:
        kind = str(item.get("type", "value_error"))
        context = item.get("ctx")
        details.append(
            ErrorDetailOut(
                field=_location(item.get("loc", ())),
                code=kind,
                message=_validation_message(kind, context if isinstance(context, Mapping) else {}),
            )
        )
    return ApiError(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ApiErrorCode.INVALID_REQUEST,
        _("リクエストの内容が仕様と合いません。details をご確認ください。"),
        details=details,
    )


# --- handlers ------------------------------------------------------------------------------------


def _on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc)


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # The upload handler drops a file past UPLOAD_MAX_BYTES, so the file then seems missing.
    if getattr(request, "upload_too_large", False):
        return error_response(body_too_large())
    return error_response(invalid_request(exc.errors))


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps every failure to read the body in HttpError(400); the cause tells which.
    cause = exc.__cause__
    if isinstance(cause, RequestDataTooBig):
        return error_response(body_too_large())
    if isinstance(cause, ValueError | RecursionError):
        if isinstance(cause, MalformedJson):
            message = cause.message
        elif isinstance(cause, JSONDecodeError):
            message = _("本文を JSON として読めませんでした（%(line)d行%(column)d列目）。") % {
                "line": cause.lineno,
                "column": cause.colno,
            }
        else:  # UnicodeDecodeError, too deep nesting, too many digits
            message = _("本文を JSON として読めませんでした。")
        return error_response(
            ApiError(HTTPStatus.BAD_REQUEST, ApiErrorCode.MALFORMED_JSON, message)
        )
    if exc.status_code == HTTPStatus.TOO_MANY_REQUESTS:
        return error_response(rate_limited(60))
    if exc.status_code == HTTPStatus.NOT_FOUND:
        return error_response(endpoint_not_found())
    return error_response(malformed_request())


def _on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(endpoint_not_found())


def _on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return error_response(body_too_large())
    return error_response(malformed_request())


def _on_unreadable(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(malformed_request())


def _on_read_only(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A write reached the database while read-only mode is on: refused, rolled back.
    return error_response(read_only(settings.READ_ONLY_RETRY_AFTER))


def _on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    if is_database_unavailable(exc):
        return unavailable_response(request, exc)
    logger.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(
        ApiError(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            ApiErrorCode.INTERNAL_ERROR,
            _("サーバーで問題が起きました。時間をおいてもう一度お試しください。"),
        )
    )


def install_error_handlers(api: NinjaAPI) -> None:
    """Answer every exception an operation raises with the error shape."""
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (ApiError, _on_api_error),
        (ValidationError, _on_validation_error),
        (HttpError, _on_http_error),
        (Http404, _on_not_found),
        (SuspiciousOperation, _on_suspicious),
        (MultiPartParserError, _on_unreadable),
        (UnreadablePostError, _on_unreadable),
        (ReadOnlyError, _on_read_only),
        (Exception, _on_unexpected),
    ]
    for exception_class, handler in handlers:
        api.exception_handler(exception_class)(handler)
