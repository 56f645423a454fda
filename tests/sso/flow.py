"""Driving a single sign-on: madoguchi through the Django test client, the provider through
``requests`` (its sign-in form), as a browser would go back and forth between the two."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from django.http import HttpResponse
from django.test import Client

from madoguchi.audit.services import AuditActor
from madoguchi.sso.models import SignUpMode, SsoConfig, SsoRoleMapping
from madoguchi.tenants.models import Department, Municipality, Role

OUR_ORIGIN = "http://testserver"
IDP_PASSWORD = "provider password 2026"


@dataclass
class Provider:
    base_url: str
    issuer: str
    token: str

    def provision(
        self,
        *,
        users: list[dict[str, Any]] | None = None,
        applications: list[dict[str, Any]] | None = None,
    ) -> None:
        response = requests.post(
            f"{self.base_url}/provision/",
            json={"users": users or [], "applications": applications or []},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


@dataclass
class IdpUser:
    username: str
    email: str
    groups: list[str] = field(default_factory=list)

    def spec(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "password": IDP_PASSWORD,
            "email": self.email,
            "name": f"職員 {self.username}",
            "groups": self.groups,
        }


@dataclass
class RegisteredClient:
    client_id: str
    client_secret: str


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def register_client(
    provider: Provider, slug: str, *, tags: str = "", origin: str = OUR_ORIGIN
) -> RegisteredClient:
    """A confidential client at the provider for ``slug``, with ``tags`` in its name."""
    client = RegisteredClient(unique("madoguchi"), unique("secret"))
    provider.provision(
        applications=[
            {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "name": f"madoguchi {slug} {tags}".strip(),
                "redirect_uris": [f"{origin}/{slug}/staff/sso/callback/"],
                "post_logout_redirect_uris": [f"{origin}/{slug}/staff/login/"],
            }
        ]
    )
    return client


def configure(
    provider: Provider,
    municipality: Municipality,
    *,
    tags: str = "",
    mode: SignUpMode = SignUpMode.INVITE_ONLY,
    require_sso: bool = False,
    mappings: Sequence[tuple[str, Department | None, Role]] = (),
    issuer: str | None = None,
    origin: str = OUR_ORIGIN,
) -> SsoConfig:
    """Register a client at the provider and store the municipality's settings directly."""
    client = register_client(provider, municipality.slug, tags=tags, origin=origin)
    config = SsoConfig.objects.create(
        municipality=municipality,
        enabled=True,
        issuer=issuer or provider.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret,
        mode=mode,
        require_sso=require_sso,
    )
    for value, department, role in mappings:
        SsoRoleMapping.objects.create(config=config, value=value, department=department, role=role)
    return config


TEST_ACTOR = AuditActor(label="test")


def start(client: Client, slug: str, *, next_url: str = "") -> str:
    """Press the sign-in button; returns the provider URL madoguchi redirects to."""
    response = client.get(f"/{slug}/staff/sso/start/", {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content.decode()[:500]
    return str(response["Location"])


def idp_sign_in(
    authorize_url: str, user: IdpUser, *, session: requests.Session | None = None
) -> str:
    """Sign in at the provider's own form; returns the callback URL it sends the browser to."""
    browser = session or requests.Session()
    response = browser.get(authorize_url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.status_code in {301, 302, 303}:
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(OUR_ORIGIN):
                return location
            response = browser.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
        assert token is not None, response.text[:500]
        if 'name="password"' in response.text:
            form = {"username": user.username, "password": IDP_PASSWORD}
        else:  # the consent page
            form = {"allow": "Authorize"}
            for name, value in re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text
            ):
                form.setdefault(name, value)
        form["csrfmiddlewaretoken"] = token.group(1)
        response = browser.post(response.url, data=form, allow_redirects=False, timeout=10)
    raise AssertionError("the provider did not send the browser back")


def callback(client: Client, url: str) -> HttpResponse:
    """Follow the provider's redirect back to madoguchi."""
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client: Client, slug: str, user: IdpUser, **kw: Any) -> HttpResponse:
    return callback(client, idp_sign_in(start(client, slug), user, **kw))


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def page_text(response: HttpResponse) -> str:
    return response.content.decode("utf-8")
