"""The OpenID Connect relying party: discovery, the authorization request, the code exchange and
the ID token checks.

Authlib's requests client builds the authorization URL (with the PKCE S256 challenge) and
exchanges the code; joserfc checks the ID token's signature against the provider's JWKS. The
claim checks (issuer, audience, authorized party, expiry, issue time, nonce) are spelled out
here so that each refusal has its own code. Discovery documents and key sets are kept in
Django's cache for ``MADOGUCHI_SSO_METADATA_CACHE_SECONDS``; a token signed with a key id the
cached set lacks fetches the set again once (the provider rotated its keys).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.common.security import is_secure_transport
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from django.conf import settings
from django.core.cache import cache
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from madoguchi.sso.errors import SsoError, SsoErrorCode

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AuthorizationRequest",
    "ProviderMetadata",
    "authorization_request",
    "end_session_url",
    "id_token_validate",
    "provider_metadata",
    "token_exchange",
]

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Asymmetric algorithms only: "none" and the HMAC family (which a provider's public key
# would turn into a forgeable shared secret) are never accepted.
ALLOWED_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What madoguchi uses from a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str
    algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _cache_key(kind: str, url: str) -> str:
    return f"sso:{kind}:{hashlib.sha256(url.encode()).hexdigest()}"


def _get_json(url: str) -> dict[str, Any]:
    """GET a JSON object from the provider; any failure is ``provider_unavailable``."""
    try:
        response = requests.get(
            url, timeout=settings.SSO_HTTP_TIMEOUT_SECONDS, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoError(SsoErrorCode.PROVIDER_UNAVAILABLE, f"GET {url}: {exc}") from None
    if not isinstance(body, dict):
        raise SsoError(SsoErrorCode.PROVIDER_MISCONFIGURED, f"GET {url}: not a JSON object")
    return body


def issuer_is_acceptable(issuer: str) -> bool:
    """An issuer must be HTTPS; plain HTTP is allowed only on loopback (tests, development)."""
    parts = urlsplit(issuer)
    return (
        bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and (is_secure_transport(issuer))
    )


def _endpoint(document: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = document.get(name) or ""
    if not isinstance(value, str) or (value and not is_secure_transport(value)):
        raise SsoError(SsoErrorCode.PROVIDER_MISCONFIGURED, f"{name} is not an HTTPS URL")
    if required and not value:
        raise SsoError(SsoErrorCode.PROVIDER_MISCONFIGURED, f"{name} is missing")
    return value


def provider_metadata(issuer: str) -> ProviderMetadata:
    """The provider's discovery document, fetched from ``<issuer>/.well-known/...`` and cached.

    The document must name exactly the configured issuer (OpenID Connect Discovery 1.0 §4.3).
    """
    url = issuer.rstrip("/") + DISCOVERY_PATH
    key = _cache_key("metadata", url)
    document = cache.get(key)
    fetched = not isinstance(document, dict)
    if not isinstance(document, dict):
        document = _get_json(url)
    if document.get("issuer") != issuer:
        raise SsoError(
            SsoErrorCode.WRONG_ISSUER,
            f"discovery names issuer {str(document.get('issuer'))[:200]!r}, configured {issuer!r}",
        )
    algorithms = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    metadata = ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint"),
        token_endpoint=_endpoint(document, "token_endpoint"),
        jwks_uri=_endpoint(document, "jwks_uri"),
        end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
        algorithms=tuple(a for a in algorithms if a in ALLOWED_ALGORITHMS),
        token_auth_methods=tuple(str(m) for m in methods),
    )
    if not metadata.algorithms:
        raise SsoError(
            SsoErrorCode.PROVIDER_MISCONFIGURED, f"no acceptable ID token algorithm in {algorithms}"
        )
    if fetched:  # kept for the configured time from the fetch, not from the last use
        cache.set(key, document, settings.SSO_METADATA_CACHE_SECONDS)
    return metadata


def _key_set(metadata: ProviderMetadata, *, refresh: bool) -> KeySet:
    key = _cache_key("jwks", metadata.jwks_uri)
    document = None if refresh else cache.get(key)
    if not isinstance(document, dict):
        document = _get_json(metadata.jwks_uri)
        cache.set(key, document, settings.SSO_METADATA_CACHE_SECONDS)
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SsoError(SsoErrorCode.PROVIDER_MISCONFIGURED, f"unusable JWKS: {exc}") from None


def _session(
    *, client_id: str, client_secret: str, metadata: ProviderMetadata, redirect_uri: str
) -> OAuth2Session:
    if not client_secret:
        method = "none"
    elif "client_secret_basic" in metadata.token_auth_methods:
        method = "client_secret_basic"
    else:
        method = "client_secret_post"
    return OAuth2Session(
        client_id=client_id,
        client_secret=client_secret or None,
        token_endpoint_auth_method=method,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=settings.SSO_HTTP_TIMEOUT_SECONDS,
    )


def authorization_request(
    *, metadata: ProviderMetadata, client_id: str, scopes: list[str], redirect_uri: str
) -> AuthorizationRequest:
    """The provider URL to send the browser to, with fresh state, nonce and PKCE verifier."""
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    client = _session(
        client_id=client_id, client_secret="", metadata=metadata, redirect_uri=redirect_uri
    )
    url, _state = client.create_authorization_url(
        metadata.authorization_endpoint,
        state=state,
        code_verifier=verifier,
        nonce=nonce,
        scope=" ".join(scopes),
    )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def token_exchange(
    *,
    metadata: ProviderMetadata,
    client_id: str,
    client_secret: str,
    code: str,
    code_verifier: str,
    redirect_uri: str,
) -> dict[str, Any]:
    """Trade the authorization code for tokens at the token endpoint (with the PKCE verifier)."""
    client = _session(
        client_id=client_id,
        client_secret=client_secret,
        metadata=metadata,
        redirect_uri=redirect_uri,
    )
    try:
        token = client.fetch_token(
            metadata.token_endpoint,
            grant_type="authorization_code",
            code=code,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
        )
    except requests.RequestException as exc:
        raise SsoError(SsoErrorCode.PROVIDER_UNAVAILABLE, f"token endpoint: {exc}") from None
    except (OAuthError, OAuth2Error, ValueError) as exc:
        raise SsoError(SsoErrorCode.TOKEN_REFUSED, f"token endpoint: {exc}"[:300]) from None
    finally:
        client.close()
    if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
        raise SsoError(SsoErrorCode.TOKEN_REFUSED, "no id_token in the token response")
    return dict(token)


def _decode(id_token: str, metadata: ProviderMetadata) -> dict[str, Any]:
    for refresh in (False, True):
        keys = _key_set(metadata, refresh=refresh)
        try:
            token = jwt.decode(id_token, keys, algorithms=list(metadata.algorithms))
        except InvalidKeyIdError as exc:
            # An unknown key id may mean the provider rotated its keys: fetch them once more.
            if not refresh:
                continue
            raise SsoError(SsoErrorCode.BAD_SIGNATURE, f"{exc}") from None
        except JoseError as exc:
            raise SsoError(SsoErrorCode.BAD_SIGNATURE, f"{type(exc).__name__}: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise SsoError(SsoErrorCode.BAD_SIGNATURE, f"undecodable: {exc}") from None
        return dict(token.claims)
    raise SsoError(SsoErrorCode.BAD_SIGNATURE, "no key of the provider verifies the token")


def id_token_validate(
    *,
    id_token: str,
    metadata: ProviderMetadata,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims once signature, issuer, audience, times and nonce are right.

    OpenID Connect Core 1.0 §3.1.3.7. Raises SsoError with the code of the first failed check.
    """
    claims = _decode(id_token, metadata)
    leeway = settings.SSO_CLOCK_SKEW_SECONDS
    current = time.time() if now is None else now
    if claims.get("iss") != metadata.issuer:
        raise SsoError(SsoErrorCode.WRONG_ISSUER, f"iss {str(claims.get('iss'))[:200]!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or client_id not in audiences:
        raise SsoError(SsoErrorCode.WRONG_AUDIENCE, f"aud {str(audience)[:200]!r}")
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise SsoError(SsoErrorCode.WRONG_AUDIENCE, f"azp {str(azp)[:200]!r}")
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or not isinstance(issued, int | float):
        raise SsoError(SsoErrorCode.TOKEN_EXPIRED, "exp or iat missing")
    if expires + leeway < current:
        raise SsoError(SsoErrorCode.TOKEN_EXPIRED, f"expired {int(current - expires)} s ago")
    if issued - leeway > current:
        raise SsoError(SsoErrorCode.TOKEN_EXPIRED, f"issued {int(issued - current)} s ahead")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
        claims["nonce"], nonce
    ):
        raise SsoError(SsoErrorCode.WRONG_NONCE, "nonce differs from the one sent")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise SsoError(SsoErrorCode.TOKEN_REFUSED, "sub missing or too long")
    return claims


def end_session_url(
    *, metadata: ProviderMetadata, id_token: str, post_logout_redirect_uri: str
) -> str:
    """Where to send the browser to end the provider's session too ("" when not offered)."""
    if not metadata.end_session_endpoint:
        return ""
    query = urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri}
    )
    separator = "&" if "?" in metadata.end_session_endpoint else "?"
    return f"{metadata.end_session_endpoint}{separator}{query}"
