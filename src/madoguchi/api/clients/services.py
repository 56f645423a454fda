"""Creating, rotating and revoking API clients; issuing and checking access tokens.

Secrets and tokens are 256-bit random values shown once and stored as SHA-256 hashes: with
that much entropy a slow password hash adds nothing, and a token is checked on every call.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from madoguchi.accounts.models import User
from madoguchi.api.clients.models import ApiAccessToken, ApiClient, ApiClientSecret
from madoguchi.api.clients.scopes import HEALTH_CENTRE_SCOPES, Scope
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.surveillance.selectors import health_centres_for_departments
from madoguchi.tenants.models import Municipality

__all__ = [
    "ApiClientError",
    "ApiClientErrorCode",
    "IssuedToken",
    "api_client_create",
    "api_client_revoke",
    "api_client_secret_rotate",
    "api_token_authenticate",
    "api_token_issue",
    "hash_credential",
]

_SECRET_PREFIX = "mdgs_"  # noqa: S105 - a prefix that makes leaked secrets easy to scan for
_TOKEN_PREFIX = "mdgt_"  # noqa: S105
# last_used_at is written at most this often per client, not on every call.
_LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class ApiClientErrorCode(StrEnum):
    NAME_REQUIRED = "name_required"
    NAME_TAKEN = "name_taken"
    SCOPES_REQUIRED = "scopes_required"
    REVOKED = "client_revoked"
    HEALTH_CENTRE_ONLY = "scopes_health_centre_only"


class ApiClientError(Exception):
    def __init__(self, code: ApiClientErrorCode, message: str, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class IssuedToken:
    client: ApiClient
    token: str
    expires_in: int


def hash_credential(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _new_secret(client: ApiClient) -> str:
    secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
    ApiClientSecret.objects.create(
        client=client, secret_hash=hash_credential(secret), hint=secret[-4:]
    )
    return secret


@transaction.atomic
def api_client_create(
    *, municipality: Municipality, name: str, scopes: list[str], actor: AuditActor
) -> tuple[ApiClient, str]:
    """A new client and its first secret (returned once, stored hashed).

    The case register's scopes (``HEALTH_CENTRE_SCOPES``) are refused to a municipality that
    runs no health centre: it holds no cases.
    """
    name = name.strip()
    if not name:
        raise ApiClientError(
            ApiClientErrorCode.NAME_REQUIRED, _("名前を入力してください。"), "name"
        )
    wanted = sorted({s for s in scopes if s in Scope.values})
    if not wanted:
        raise ApiClientError(
            ApiClientErrorCode.SCOPES_REQUIRED, _("権限を一つ以上選んでください。"), "scopes"
        )
    held = HEALTH_CENTRE_SCOPES.intersection(wanted)
    if held and not health_centres_for_departments(municipality=municipality, departments=None):
        labels = dict(Scope.choices)
        raise ApiClientError(
            ApiClientErrorCode.HEALTH_CENTRE_ONLY,
            _(
                "%(municipality)sは保健所を置いていないため、患者・発生届・体調報告の権限"
                "（%(scopes)s）は付けられません。保健所を置く自治体（都道府県・保健所設置市）"
                "のクライアントだけが持てます。"
            )
            % {
                "municipality": municipality.name,
                "scopes": "、".join(str(labels[s]) for s in sorted(held)),
            },
            "scopes",
        )
    if ApiClient.objects.filter(municipality=municipality, name=name).exists():
        raise ApiClientError(
            ApiClientErrorCode.NAME_TAKEN, _("同じ名前のクライアントがすでにあります。"), "name"
        )
    client_id = f"mdgc_{uuid.uuid4().hex}"
    user = User(username=f"api:{client_id}", display_name=name, is_active=False)
    user.set_unusable_password()
    user.save()
    try:
        with transaction.atomic():
            client = ApiClient.objects.create(
                municipality=municipality,
                name=name,
                client_id=client_id,
                scopes=wanted,
                service_user=user,
                created_by_label=actor.user_label,
            )
    except IntegrityError:
        raise ApiClientError(
            ApiClientErrorCode.NAME_TAKEN, _("同じ名前のクライアントがすでにあります。"), "name"
        ) from None
    secret = _new_secret(client)
    audit_event(
        municipality=municipality,
        action="api_client.create",
        actor=actor,
        obj=client,
        data={"name": name, "scopes": wanted},
    )
    return client, secret


@transaction.atomic
def api_client_secret_rotate(
    *, client: ApiClient, actor: AuditActor, overlap: datetime.timedelta | None = None
) -> str:
    """A new secret; the ones in use stay valid for ``overlap`` so the caller can switch."""
    locked = ApiClient.objects.select_for_update().get(pk=client.pk)
    if locked.is_revoked:
        raise ApiClientError(
            ApiClientErrorCode.REVOKED, _("このクライアントは無効にされています。")
        )
    if overlap is None:
        overlap = datetime.timedelta(hours=settings.API_SECRET_ROTATION_OVERLAP_HOURS)
    ends = timezone.now() + overlap
    ApiClientSecret.objects.filter(client=locked).filter(expires_at__isnull=True).update(
        expires_at=ends
    )
    ApiClientSecret.objects.filter(client=locked, expires_at__gt=ends).update(expires_at=ends)
    secret = _new_secret(locked)
    audit_event(
        municipality=locked.municipality,
        action="api_client.rotate",
        actor=actor,
        obj=locked,
        data={"overlap_seconds": int(overlap.total_seconds())},
    )
    return secret


@transaction.atomic
def api_client_revoke(*, client: ApiClient, actor: AuditActor) -> ApiClient:
    """Stop the client at once: its secrets and tokens no longer work."""
    locked = ApiClient.objects.select_for_update().get(pk=client.pk)
    if locked.is_revoked:
        return locked
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    ApiAccessToken.objects.filter(client=locked).delete()
    audit_event(
        municipality=locked.municipality, action="api_client.revoke", actor=actor, obj=locked
    )
    return locked


def api_token_issue(*, client_id: str, client_secret: str, ip: str = "") -> IssuedToken | None:
    """OAuth 2.0 client credentials: a short-lived token, or None for wrong credentials."""
    client = (
        ApiClient.objects.filter(client_id=client_id, revoked_at__isnull=True)
        .select_related("municipality", "service_user")
        .first()
    )
    if client is None:
        return None
    now = timezone.now()
    found = ApiClientSecret.objects.filter(
        client=client, secret_hash=hash_credential(client_secret)
    ).first()
    if found is None or not found.is_valid(now):
        return None
    lifetime = settings.API_TOKEN_LIFETIME_SECONDS
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiAccessToken.objects.create(
            client=client,
            token_hash=hash_credential(token),
            expires_at=now + datetime.timedelta(seconds=lifetime),
        )
        ApiAccessToken.objects.filter(client=client, expires_at__lt=now).delete()
        audit_event(
            municipality=client.municipality,
            action="api_client.token",
            actor=AuditActor(user=client.service_user, ip=ip),
            obj=client,
        )
    return IssuedToken(client=client, token=token, expires_in=lifetime)


def api_token_authenticate(*, token: str) -> ApiClient | None:
    """The unrevoked client whose unexpired token this is; notes when it was last used."""
    now = timezone.now()
    found = (
        ApiAccessToken.objects.filter(
            token_hash=hash_credential(token),
            expires_at__gt=now,
            client__revoked_at__isnull=True,
        )
        .select_related("client__municipality", "client__service_user")
        .first()
    )
    if found is None:
        return None
    client = found.client
    if client.last_used_at is None or now - client.last_used_at > _LAST_USED_RESOLUTION:
        ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
        client.last_used_at = now
    return client
