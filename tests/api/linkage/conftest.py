"""Fixtures of the data-linkage API tests: 神戸市 with two submitted 特別定額給付金."""

from __future__ import annotations

import pytest

from madoguchi.procedures.models import Application
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import kyufukin_submit, publish_catalogue


@pytest.fixture
def kobe_applications(tenant_a: Tenant) -> list[Application]:
    version = publish_catalogue(tenant_a.municipality, "teigaku-kyufukin", "welfare")
    return [kyufukin_submit(version).application for _ in range(3)]
