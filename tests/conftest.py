"""Fixtures shared by the whole suite, including the tenant-isolation kit (see isolation.py)."""

from __future__ import annotations

import pytest

from tests.isolation import Tenant, make_tenant


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    """神戸市 with departments and one staff member of every role."""
    return make_tenant("281000", "kobe")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    """佐用町, the other municipality that tenant_a's staff must never reach."""
    return make_tenant("285013", "sayo")
