"""Who may open the platform operator's console."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse

from madoguchi.accounts.models import User
from madoguchi.audit.services import AuditActor
from madoguchi.core.ratelimit import client_ip


@dataclass(frozen=True, slots=True)
class OperatorContext:
    user: User
    ip: str

    def actor(self) -> AuditActor:
        return AuditActor(user=self.user, ip=self.ip)


def is_operator(user: object) -> bool:
    """A platform operator: a superuser (signed in at /staff/login/ with both factors)."""
    return isinstance(user, User) and user.is_active and user.is_superuser


def operator_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Require a superuser who passed both sign-in steps; others signed in get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (isinstance(user, User) and user.is_verified()):  # type: ignore[attr-defined]
            login = reverse("platform-login")
            return HttpResponseRedirect(f"{login}?{urlencode({'next': request.path})}")
        if not is_operator(user):
            raise PermissionDenied("not a platform operator")
        return view(request, OperatorContext(user, client_ip(request)), *args, **kwargs)

    return wrapped
