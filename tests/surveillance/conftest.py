from __future__ import annotations

import pytest

from tests.isolation import Tenant
from tests.surveillance.factories import World, make_world


@pytest.fixture
def world(tenant_a: Tenant, tenant_b: Tenant) -> World:
    return make_world(tenant_a, tenant_b)
