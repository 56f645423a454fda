"""Reading municipalities, departments and memberships."""

from __future__ import annotations

import contextlib
import copy
import threading
import uuid
from typing import TYPE_CHECKING

from django.core.cache import caches
from django.db import transaction
from django.db.models import QuerySet

from madoguchi.tenants.models import Department, Membership, Municipality, MunicipalitySlugAlias

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

__all__ = [
    "department_list",
    "membership_list_for_user",
    "municipality_cache_clear",
    "municipality_changed",
    "municipality_get_active",
    "municipality_get_by_code",
    "municipality_list_active",
    "municipality_slug_for_alias",
]


# Active municipalities by slug, kept in this process. Every entry carries the generation token
# it was read under; the token lives in the shared counters cache and is replaced whenever any
# municipality changes (``municipality_changed``), so a change made through one worker or app
# server is seen by all the others on their next request.
_GENERATION_KEY = "tenants:municipality-generation"
_UNAVAILABLE = "unavailable"
_by_slug: dict[str, tuple[str, Municipality]] = {}
_by_slug_lock = threading.Lock()
_BY_SLUG_MAX = 4096


def _generation() -> str:
    try:
        cache = caches["counters"]
        token = cache.get(_GENERATION_KEY)
        if not isinstance(token, str):  # a fresh (or flushed) cache: start a new generation
            cache.add(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
            token = cache.get(_GENERATION_KEY)
    except Exception:  # the cache server is down: read the database every time
        return _UNAVAILABLE
    return token if isinstance(token, str) else _UNAVAILABLE


def municipality_changed() -> None:
    """Tell every process that municipalities changed: their cached ones are read again.

    Called on every save and delete of a Municipality (``Municipality.save``): at once, and
    again after the transaction commits, so no process keeps what it read before the commit.
    """

    def bump() -> None:
        # Without the cache server nothing is cached either (see _generation).
        with contextlib.suppress(Exception):
            caches["counters"].set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)

    municipality_cache_clear()
    bump()
    transaction.on_commit(bump)


def municipality_cache_clear() -> None:
    """Forget this process's cached municipalities."""
    with _by_slug_lock:
        _by_slug.clear()


def municipality_get_active(*, slug: str) -> Municipality | None:
    """The served municipality at ``/<slug>/``, or None (cached by slug, see above)."""
    generation = _generation()
    cached = _by_slug.get(slug)
    if cached is not None and generation != _UNAVAILABLE and cached[0] == generation:
        # A copy, so that a caller changing its municipality never changes the cached one.
        return copy.copy(cached[1])
    municipality = (
        Municipality.objects.select_related("prefecture").filter(slug=slug, is_active=True).first()
    )
    if generation != _UNAVAILABLE and municipality is not None:  # unknown slugs are not kept
        with _by_slug_lock:
            if len(_by_slug) >= _BY_SLUG_MAX:
                _by_slug.clear()
            _by_slug[slug] = (generation, copy.copy(municipality))
    return municipality


def municipality_get_by_code(*, code: str) -> Municipality | None:
    return Municipality.objects.filter(code=code).first()


def municipality_list_active() -> QuerySet[Municipality]:
    """Municipalities served by this deployment, in code order (prefecture by prefecture)."""
    return Municipality.objects.filter(is_active=True).select_related("prefecture").order_by("code")


def municipality_slug_for_alias(*, slug: str) -> str | None:
    """The current URL name of the body that used to be at ``/<slug>/``, or None."""
    alias = MunicipalitySlugAlias.objects.filter(slug=slug).select_related("municipality").first()
    return alias.municipality.slug if alias is not None else None


def department_list(
    *, municipality: Municipality, include_retired: bool = False
) -> QuerySet[Department]:
    """The municipality's departments; retired ones only when asked for."""
    departments = Department.objects.filter(municipality=municipality)
    if not include_retired:
        departments = departments.filter(retired_at__isnull=True)
    return departments.order_by("code")


def membership_list_for_user(*, user: User, municipality: Municipality) -> list[Membership]:
    """The user's memberships in this municipality (empty for anyone else's staff)."""
    return list(
        Membership.objects.filter(user=user, municipality=municipality).select_related("department")
    )
