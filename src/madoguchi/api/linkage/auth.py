"""Bearer tokens of API clients, the scope each operation needs, and per-client rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from madoguchi.accounts.permissions import StaffContext
from madoguchi.api.clients.models import ApiClient
from madoguchi.api.clients.scopes import Scope, role_for_scopes
from madoguchi.api.clients.services import api_token_authenticate
from madoguchi.api.errors import ApiError, ApiErrorCode, rate_limited
from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip, ratelimit_hit
from madoguchi.tenants.models import Membership, Municipality

__all__ = ["ClientBearer", "ClientContext", "client_context"]


def _unauthorized() -> ApiError:
    return ApiError(
        HTTPStatus.UNAUTHORIZED,
        ApiErrorCode.UNAUTHORIZED,
        _("アクセストークンがないか、有効ではありません。トークンを取り直してください。"),
        headers={"WWW-Authenticate": 'Bearer realm="madoguchi"'},
    )


class ClientBearer(HttpBearer):
    """``Authorization: Bearer <access token>``; a refused call is answered 401 or 429."""

    def __call__(self, request: HttpRequest) -> ApiClient | None:
        header = request.headers.get(self.header, "")
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != self.openapi_scheme or not token.strip():
            raise _unauthorized()
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        client = api_token_authenticate(token=token) if token.isascii() else None
        if client is None:
            raise _unauthorized()
        result = ratelimit_hit(
            f"api-client:{client.pk}",
            limit=settings.API_CLIENT_CALLS_PER_MINUTE,
            window_seconds=60,
        )
        if not result.allowed:
            raise rate_limited(result.retry_after)
        return client


@dataclass(frozen=True, slots=True)
class ClientContext:
    """The calling client in the URL's municipality, as the services see a staff member."""

    client: ApiClient
    staff: StaffContext

    @property
    def municipality(self) -> Municipality:
        return self.client.municipality

    def actor(self) -> AuditActor:
        return self.staff.actor()


def client_context(request: HttpRequest, municipality: str, scope: Scope) -> ClientContext:
    """The caller, if it belongs to ``municipality`` and holds ``scope``; else ApiError.

    Another municipality's client is told the municipality does not exist for it (404),
    a client without the scope gets 403: in both cases nothing is read or changed.
    """
    client = request.auth  # type: ignore[attr-defined]
    assert isinstance(client, ApiClient)
    if client.municipality.slug != municipality:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.MUNICIPALITY_NOT_FOUND,
            _("この自治体のオンライン窓口はありません。URLをご確認ください。"),
        )
    scopes = set(client.scopes)
    if scope not in scopes:
        raise ApiError(
            HTTPStatus.FORBIDDEN,
            ApiErrorCode.SCOPE_MISSING,
            _("このクライアントには「%(scope)s」の権限がありません。") % {"scope": scope.value},
        )
    membership = Membership(
        user=client.service_user,
        municipality=client.municipality,
        department=None,
        role=role_for_scopes(scopes),
    )
    staff = StaffContext(
        user=client.service_user,
        municipality=client.municipality,
        memberships=(membership,),
        ip=client_ip(request),
    )
    return ClientContext(client=client, staff=staff)
