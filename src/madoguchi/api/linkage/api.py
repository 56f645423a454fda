"""Routes of the data-linkage API: the OAuth 2.0 token endpoint and application operations.

Every operation calls the same selectors and workflow services as the staff console, with the
client acting as a staff member of its municipality (see ``auth.client_context``): the rules
of a transition, a note or a bulk change are the console's, not a second copy.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Form, Query, Router, Schema, Status
from pydantic import Field, field_validator

from madoguchi.api.clients.scopes import Scope
from madoguchi.api.clients.services import api_token_issue
from madoguchi.api.errors import (
    ApiError,
    ApiErrorCode,
    ErrorDetailOut,
    ErrorOut,
    error_response,
    error_responses,
    rate_limited,
)
from madoguchi.api.linkage.auth import ClientBearer, ClientContext, client_context
from madoguchi.api.linkage.paging import page_by_id
from madoguchi.api.linkage.schemas import (
    ApplicationDetailOut,
    ApplicationOut,
    ApplicationPageOut,
    BulkTransitionIn,
    NoteIn,
    NoteOut,
    OAuthErrorOut,
    TokenOut,
    TransitionIn,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
)
from madoguchi.api.webhooks.models import WebhookSubscription
from madoguchi.api.webhooks.services import (
    EVENT_SCOPES,
    EVENT_TYPES,
    event_types_not_allowed,
    webhook_subscription_create,
    webhook_subscription_delete,
)
from madoguchi.api.webhooks.targets import PrivateAddressError
from madoguchi.audit.services import audit_access
from madoguchi.core.ratelimit import client_ip, client_key, ratelimit_hit
from madoguchi.procedures import selectors, workflow
from madoguchi.procedures.models import Application
from madoguchi.procedures.workflow import TransitionErrorCode, TransitionRefused

__all__ = ["router"]

router = Router(tags=["linkage"])
bearer = ClientBearer()

_ACCESS_PURPOSE = "API クライアント「{name}」による申請の確認"  # shown to the resident
_REFUSAL_STATUS: dict[TransitionErrorCode, tuple[int, ApiErrorCode]] = {
    TransitionErrorCode.NOT_FOUND: (404, ApiErrorCode.APPLICATION_NOT_FOUND),
    TransitionErrorCode.UNKNOWN_STATE: (422, ApiErrorCode.UNKNOWN_STATE),
    TransitionErrorCode.NOT_ALLOWED: (409, ApiErrorCode.TRANSITION_NOT_ALLOWED),
    TransitionErrorCode.ROLE: (403, ApiErrorCode.ROLE_NOT_ALLOWED),
    TransitionErrorCode.STALE: (409, ApiErrorCode.STALE),
    TransitionErrorCode.REASON_REQUIRED: (422, ApiErrorCode.REASON_REQUIRED),
    TransitionErrorCode.ITEMS_REQUIRED: (422, ApiErrorCode.MISSING_ITEMS_REQUIRED),
    TransitionErrorCode.ASSIGNEE: (403, ApiErrorCode.ROLE_NOT_ALLOWED),
    TransitionErrorCode.NOTE_EMPTY: (422, ApiErrorCode.NOTE_EMPTY),
}


def _refused(refusal: TransitionRefused) -> ApiError:
    status, code = _REFUSAL_STATUS[refusal.code]
    return ApiError(status, code, refusal.message)


def _not_found(receipt: str) -> ApiError:
    return ApiError(
        HTTPStatus.NOT_FOUND,
        ApiErrorCode.APPLICATION_NOT_FOUND,
        _("受付番号 %(receipt)s の申請はありません。") % {"receipt": receipt},
    )


def _application(context: ClientContext, receipt: str) -> Application:
    found = (
        selectors.application_get_for_staff(
            municipality=context.municipality, receipt_number=receipt, departments=None
        )
        if receipt.isascii() and receipt.isdigit() and len(receipt) <= 10
        else None
    )
    if found is None:
        raise _not_found(receipt)
    return found


def _out(application: Application) -> dict[str, Any]:
    return {
        "id": application.pk,
        "receipt_number": application.receipt_number,
        "procedure_code": application.procedure.code,
        "department_code": application.department.code,
        "state": application.state,
        "channel": application.channel,
        "submitted_at": application.submitted_at,
        "state_changed_at": application.state_changed_at,
        "due_date": application.due_date,
        "closed_at": application.closed_at,
    }


# --- the token endpoint -------------------------------------------------------------------------


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    response = JsonResponse(
        {"error": error, "error_description": description},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Cache-Control"] = "no-store"
    if status == HTTPStatus.UNAUTHORIZED:
        response["WWW-Authenticate"] = 'Basic realm="madoguchi"'
    return response


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


class TokenForm(Schema):
    grant_type: str = Field(max_length=40)
    client_id: str = Field(default="", max_length=100)
    client_secret: str = Field(default="", max_length=200)
    scope: str = Field(default="", max_length=500)


@router.post(
    "/oauth/token",
    response={
        200: TokenOut,
        400: OAuthErrorOut | ErrorOut,
        401: OAuthErrorOut,
        **error_responses(413, 422, 429),
    },
    summary="アクセストークンの発行（OAuth 2.0 client credentials）",
    operation_id="oauth_token",
)
def oauth_token(request: HttpRequest, form: Form[TokenForm]) -> Any:
    limit = ratelimit_hit(
        client_key(request, "api-token"),
        limit=settings.API_CLIENT_CALLS_PER_MINUTE,
        window_seconds=60,
    )
    if not limit.allowed:
        return error_response(rate_limited(limit.retry_after))
    if form.grant_type != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", _("grant_type は client_credentials だけです。")
        )
    credentials = _basic_credentials(request) or (form.client_id, form.client_secret)
    issued = (
        api_token_issue(
            client_id=credentials[0], client_secret=credentials[1], ip=client_ip(request)
        )
        if all(credentials)
        else None
    )
    if issued is None:
        return _oauth_error(401, "invalid_client", _("client_id または client_secret が違います。"))
    body = TokenOut(
        access_token=issued.token,
        expires_in=issued.expires_in,
        scope=" ".join(issued.client.scopes),
    )
    response = JsonResponse(body.model_dump(mode="json"))
    response["Cache-Control"] = "no-store"
    return response


# --- applications -----------------------------------------------------------------------------


class ApplicationFilters(Schema):
    state: str = Field(default="", max_length=40)
    procedure: str = Field(default="", max_length=63)
    open_only: bool = False
    submitted_since: datetime.datetime | None = None
    cursor: str = Field(default="", max_length=100)
    limit: int = Field(default=50, ge=1, le=200)

    @field_validator("submitted_since")
    @classmethod
    def _in_utc(cls, value: datetime.datetime | None) -> datetime.datetime | None:
        """The moment in UTC: any offset ISO 8601 allows (PostgreSQL takes at most ±15:59),
        a time without one read as Japan time; a moment outside the calendar is refused."""
        if value is None:
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        try:
            return value.astimezone(datetime.UTC)
        except OverflowError as exc:
            raise ValueError("submitted_since is out of range") from exc


@router.get(
    "/{municipality}/applications",
    response={200: ApplicationPageOut, **error_responses(401, 403, 404, 422, 429)},
    auth=bearer,
    summary="申請の一覧（古い順、cursor で続きを取得）",
    operation_id="linkage_application_list",
)
def application_list(
    request: HttpRequest, municipality: str, filters: Query[ApplicationFilters]
) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.APPLICATIONS_READ)
    found = selectors.application_queue(
        municipality=context.municipality,
        departments=None,
        state=filters.state,
        procedure_code=filters.procedure,
        open_only=filters.open_only,
    ).order_by("pk")
    if filters.submitted_since is not None:
        found = found.filter(submitted_at__gte=filters.submitted_since)
    page, next_cursor = page_by_id(found, kind="a", cursor=filters.cursor, limit=filters.limit)
    return {"items": [_out(item) for item in page], "next_cursor": next_cursor}


@router.get(
    "/{municipality}/applications/{receipt}",
    response={200: ApplicationDetailOut, **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="申請の内容（回答と添付書類）",
    operation_id="linkage_application_get",
)
def application_get(request: HttpRequest, municipality: str, receipt: str) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.APPLICATIONS_READ)
    application = _application(context, receipt)
    audit_access(
        municipality=context.municipality,
        actor=context.actor(),
        purpose=_ACCESS_PURPOSE.format(name=context.client.name)[:200],
        obj=application,
    )
    return {
        **_out(application),
        "public_message": application.public_message,
        "answers": application.answers or {},
        "attachments": [
            {
                "id": a.pk,
                "field_key": a.field_key,
                "original_name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in application.attachments.order_by("created_at")
        ],
    }


@router.post(
    "/{municipality}/applications/{receipt}/transitions",
    response={200: ApplicationOut, **error_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    auth=bearer,
    summary="申請の状態を変える（職員画面と同じ規則）",
    operation_id="linkage_application_transition",
)
def application_transition(
    request: HttpRequest, municipality: str, receipt: str, payload: TransitionIn
) -> dict[str, Any]:
    context = client_context(request, municipality, Scope.APPLICATIONS_TRANSITION)
    application = _application(context, receipt)
    try:
        moved = workflow.application_transition(
            application=application,
            target=payload.target,
            staff=context.staff,
            reason=payload.reason,
            missing_items=payload.missing_items,
            public_message=payload.public_message,
            expected_state=payload.expected_state,
        )
    except TransitionRefused as refusal:
        raise _refused(refusal) from None
    moved.procedure = application.procedure
    return _out(moved)


@router.post(
    "/{municipality}/applications/{receipt}/notes",
    response={201: NoteOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="申請に内部メモを書く（住民には見えません）",
    operation_id="linkage_application_note",
)
def application_note(
    request: HttpRequest, municipality: str, receipt: str, payload: NoteIn
) -> Status[dict[str, Any]]:
    context = client_context(request, municipality, Scope.APPLICATIONS_TRANSITION)
    application = _application(context, receipt)
    try:
        note = workflow.application_note_add(
            application=application, staff=context.staff, text=payload.text
        )
    except TransitionRefused as refusal:
        raise _refused(refusal) from None
    return Status(201, {"id": note.pk, "created_at": note.created_at})


@router.post(
    "/{municipality}/applications-bulk/transitions",
    response={200: list[ApplicationOut], **error_responses(400, 401, 403, 404, 409, 413, 422, 429)},
    auth=bearer,
    summary="複数の申請の状態を一度に変える（すべて、またはどれも変えない）",
    operation_id="linkage_application_bulk_transition",
)
def application_bulk_transition(
    request: HttpRequest, municipality: str, payload: BulkTransitionIn
) -> list[dict[str, Any]]:
    context = client_context(request, municipality, Scope.APPLICATIONS_TRANSITION)
    applications = {r: _application(context, r) for r in dict.fromkeys(payload.receipt_numbers)}
    try:
        moved = workflow.applications_bulk_transition(
            application_ids=[a.pk for a in applications.values()],
            target=payload.target,
            staff=context.staff,
            reason=payload.reason,
            public_message=payload.public_message,
        )
    except TransitionRefused as refusal:
        raise _refused(refusal) from None
    procedures = {a.pk: a.procedure for a in applications.values()}
    for application in moved:
        application.procedure = procedures[application.pk]
    return [_out(a) for a in moved]


# --- webhooks ----------------------------------------------------------------------------------


def _webhook_out(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "event_types": subscription.event_types,
        "disabled": subscription.disabled_at is not None,
        "consecutive_failures": subscription.consecutive_failures,
    }


@router.post(
    "/{municipality}/webhooks",
    response={201: WebhookCreatedOut, **error_responses(400, 401, 403, 404, 413, 422, 429)},
    auth=bearer,
    summary="変更の通知（Webhook）を購読する（署名用の secret はこの応答だけ）",
    operation_id="linkage_webhook_create",
)
def webhook_create(
    request: HttpRequest, municipality: str, payload: WebhookIn
) -> Status[dict[str, Any]]:
    context = client_context(request, municipality, Scope.WEBHOOKS_MANAGE)
    unknown = sorted(set(payload.event_types) - EVENT_TYPES)
    if unknown:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.INVALID_REQUEST,
            _("リクエストの内容が仕様と合いません。details をご確認ください。"),
            details=[
                ErrorDetailOut(
                    field="event_types",
                    code="event_type_unknown",
                    message=_("知らないイベントの種類です：%(types)s")
                    % {"types": ", ".join(unknown)},
                )
            ],
        )
    not_allowed = event_types_not_allowed(context.client, payload.event_types)
    if not_allowed:
        raise ApiError(
            HTTPStatus.FORBIDDEN,
            ApiErrorCode.SCOPE_MISSING,
            _("このクライアントの権限では購読できないイベントの種類です：%(types)s")
            % {"types": ", ".join(not_allowed)},
            details=[
                ErrorDetailOut(
                    field="event_types",
                    code="scope_missing",
                    message=_("%(type)s の購読には %(scope)s の権限が要ります。")
                    % {"type": event_type, "scope": EVENT_SCOPES[event_type]},
                )
                for event_type in not_allowed
            ],
        )
    try:
        subscription, secret = webhook_subscription_create(
            client=context.client,
            url=payload.url,
            event_types=payload.event_types,
            actor=context.actor(),
        )
    except PrivateAddressError:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            ApiErrorCode.WEBHOOK_URL_NOT_PUBLIC,
            _(
                "送信先のアドレスが公開されていません（ループバック・プライベート・"
                "リンクローカルなど）。インターネットから届く URL を指定してください。"
            ),
            field="url",
        ) from None
    return Status(201, {**_webhook_out(subscription), "secret": secret})


@router.get(
    "/{municipality}/webhooks",
    response={200: list[WebhookOut], **error_responses(401, 403, 404, 429)},
    auth=bearer,
    summary="このクライアントの Webhook の購読",
    operation_id="linkage_webhook_list",
)
def webhook_list(request: HttpRequest, municipality: str) -> list[dict[str, Any]]:
    context = client_context(request, municipality, Scope.WEBHOOKS_MANAGE)
    return [
        _webhook_out(s)
        for s in WebhookSubscription.objects.filter(client=context.client).order_by("pk")
    ]


@router.delete(
    "/{municipality}/webhooks/{subscription_id}",
    response={204: None, **error_responses(401, 403, 404, 422, 429)},
    auth=bearer,
    summary="Webhook の購読をやめる（以後の送信と未送信の再試行を止めます）",
    operation_id="linkage_webhook_delete",
)
def webhook_delete(request: HttpRequest, municipality: str, subscription_id: int) -> Status[None]:
    context = client_context(request, municipality, Scope.WEBHOOKS_MANAGE)
    subscription = (
        WebhookSubscription.objects.filter(client=context.client, pk=subscription_id).first()
        if 0 < subscription_id < 2**63
        else None
    )
    if subscription is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.WEBHOOK_NOT_FOUND,
            _("その Webhook の購読はありません。"),
        )
    webhook_subscription_delete(subscription=subscription, actor=context.actor())
    return Status(204, None)
