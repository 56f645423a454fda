"""The tenant-isolation kit.

Two municipalities with departments, staff of every role and signed-in clients, plus
assertions that one municipality's staff cannot read or change the other's data through a
page, an API call or an export. Later features add their own data to a :class:`Tenant` and
call these helpers with their URLs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from madoguchi.audit.services import AuditActor
from madoguchi.tenants.models import Department, Municipality, Role
from madoguchi.tenants.services import department_ensure, membership_grant, municipalities_load

PASSWORD = "correct horse battery staple 2026"
REFUSED = {403, 404}


@dataclass
class Tenant:
    municipality: Municipality
    departments: dict[str, Department]
    staff: dict[str, User]  # role value -> user; "clerk-other" works in the second department
    data: dict[str, Any] = field(default_factory=dict)  # feature tests put their records here

    @property
    def slug(self) -> str:
        return self.municipality.slug

    def client(self, role: str = "admin") -> Client:
        """A client signed in (password and second factor) as this tenant's ``role``."""
        return signed_in_client(self.staff[role])

    def url(self, path: str) -> str:
        return f"/{self.slug}/{path.lstrip('/')}"


def signed_in_client(user: User) -> Client:
    """A test client whose session has passed both sign-in steps for ``user``."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def make_tenant(code: str, slug: str) -> Tenant:
    """A served municipality with two departments and staff of every role."""
    actor = AuditActor(label="test")
    [muni] = municipalities_load(codes=[code], activate=True, actor=actor)
    muni.slug = slug
    muni.save(update_fields=["slug"])
    departments = {
        "welfare": department_ensure(municipality=muni, code="welfare", name="福祉課", actor=actor),
        "citizens": department_ensure(
            municipality=muni, code="citizens", name="市民課", actor=actor
        ),
    }
    staff: dict[str, User] = {}
    for role in Role:
        user = staff_user_create(username=f"{slug}-{role.value}", password=PASSWORD)
        department = None if role == Role.ADMIN else departments["welfare"]
        membership_grant(
            municipality=muni, user=user, role=role, department=department, actor=actor
        )
        staff[role.value] = user
    other = staff_user_create(username=f"{slug}-clerk-other", password=PASSWORD)
    membership_grant(
        municipality=muni,
        user=other,
        role=Role.CLERK,
        department=departments["citizens"],
        actor=actor,
    )
    staff["clerk-other"] = other
    return Tenant(muni, departments, staff)


def snapshot(queryset: models.QuerySet[Any]) -> list[dict[str, Any]]:
    """Every row's values, to compare before and after a refused action."""
    return list(queryset.order_by("pk").values())


def assert_cannot_read(
    client: Client, url: str, *, must_not_contain: Iterable[str] = (), method: str = "get"
) -> None:
    """The page, API call or export at ``url`` is refused and leaks none of the given texts."""
    response = getattr(client, method)(url)
    assert response.status_code in REFUSED, (
        f"{url} answered {response.status_code}, expected one of {sorted(REFUSED)}"
    )
    body = response.content.decode("utf-8", errors="replace")
    for text in must_not_contain:
        assert text not in body, f"{url} leaked {text!r}"


def assert_cannot_change(
    client: Client,
    url: str,
    *,
    data: dict[str, Any] | None = None,
    json_body: Any = None,
    method: str = "post",
    state: Callable[[], Any],
) -> None:
    """Sending to ``url`` is refused and ``state()`` is the same afterwards."""
    before = state()
    if json_body is not None:
        response = getattr(client, method)(
            url, data=json.dumps(json_body), content_type="application/json"
        )
    else:
        response = getattr(client, method)(url, data=data or {})
    assert response.status_code in REFUSED, (
        f"{method.upper()} {url} answered {response.status_code}, expected refusal"
    )
    assert state() == before, f"{method.upper()} {url} changed data although it was refused"
