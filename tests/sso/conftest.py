"""Fixtures of the single sign-on tests: the OpenID provider (see provider.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.sso.provider import oidc_provider

__all__ = ["oidc_provider"]


@pytest.fixture(autouse=True)
def _fresh_provider_cache() -> Iterator[None]:
    """Each test fetches discovery documents and keys itself (they are cached otherwise)."""
    cache.clear()
    yield
    cache.clear()
