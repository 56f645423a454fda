"""The published procedure a submission or page names, read by SQL compiled once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.query_utils import DeferredAttribute
from django.test.utils import CaptureQueriesContext

from madoguchi.procedures.models import Procedure
from madoguchi.procedures.publishing import procedure_reopen, procedure_withdraw
from madoguchi.procedures.selectors import (
    procedure_get_published,
    procedure_is_open,
    procedure_list_published,
    procedure_open_department,
)
from tests.conftest import Tenant
from tests.procedures.backoffice_fixtures import publish_catalogue
from tests.procedures.conftest import ACTOR

pytestmark = pytest.mark.django_db


def _fields(instance: object, names: list[str]) -> dict[str, object]:
    return {name: getattr(instance, name) for name in names}


def test_the_lookup_gives_what_the_orm_gives(tenant_a: Tenant) -> None:
    """Procedure, current version (definition left unread) and department: the same values
    as the ORM's select_related query, in one query, with nothing loaded later by surprise."""
    publish_catalogue(tenant_a.municipality, "jido-teate", "welfare")
    expected = (
        procedure_list_published(municipality=tenant_a.municipality).filter(code="jido-teate").get()
    )
    with CaptureQueriesContext(connection) as queries:
        found = procedure_get_published(municipality=tenant_a.municipality, code="jido-teate")
        assert found is not None
        version, department = found.current_version, found.department
        assert version is not None
        assert _fields(found, ["pk", "code", "is_published", "created_at", "municipality_id"]) == (
            _fields(expected, ["pk", "code", "is_published", "created_at", "municipality_id"])
        )
        assert found.department_id == expected.department_id == department.pk
        assert _fields(department, ["name", "code", "email", "phone", "retired_at"]) == (
            _fields(expected.department, ["name", "code", "email", "phone", "retired_at"])
        )
        assert expected.current_version is not None
        names = ["pk", "number", "digest", "created_at", "published_at", "procedure_id"]
        assert _fields(version, names) == _fields(expected.current_version, names)
        assert found.municipality == tenant_a.municipality
    assert len(queries) == 1
    # The definition is read only when asked for (definition_of parses it once per process).
    assert version.get_deferred_fields() == {"definition", "source"}
    assert isinstance(type(version).__dict__["definition"], DeferredAttribute)
    assert version.definition == expected.current_version.definition
    assert found._state.adding is False
    assert found._state.db == "default"


def test_another_municipality_or_an_unknown_code_finds_nothing(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    publish_catalogue(tenant_a.municipality, "jido-teate", "welfare")
    assert procedure_get_published(municipality=tenant_b.municipality, code="jido-teate") is None
    assert procedure_get_published(municipality=tenant_a.municipality, code="kyufukin") is None
    publish_catalogue(tenant_b.municipality, "jido-teate", "welfare")
    in_b = procedure_get_published(municipality=tenant_b.municipality, code="jido-teate")
    in_a = procedure_get_published(municipality=tenant_a.municipality, code="jido-teate")
    assert in_a is not None
    assert in_b is not None
    assert in_a.pk != in_b.pk
    assert in_b.department.municipality_id == tenant_b.municipality.pk


def test_a_withdrawn_procedure_is_not_published_and_takes_no_applications(
    tenant_a: Tenant,
) -> None:
    publish_catalogue(tenant_a.municipality, "jido-teate", "welfare")
    procedure = Procedure.objects.get(municipality=tenant_a.municipality, code="jido-teate")
    assert procedure_open_department(procedure_id=procedure.pk) == procedure.department_id
    assert procedure_is_open(procedure_id=procedure.pk) is True

    procedure_withdraw(municipality=tenant_a.municipality, procedure=procedure, actor=ACTOR)
    assert procedure_get_published(municipality=tenant_a.municipality, code="jido-teate") is None
    assert procedure_open_department(procedure_id=procedure.pk) is None
    assert procedure_is_open(procedure_id=procedure.pk) is False

    procedure_reopen(municipality=tenant_a.municipality, procedure=procedure, actor=ACTOR)
    assert procedure_get_published(municipality=tenant_a.municipality, code="jido-teate")
    assert procedure_open_department(procedure_id=procedure.pk) == procedure.department_id


def test_a_new_version_is_seen_at_once(tenant_a: Tenant) -> None:
    """Nothing is cached but the SQL: publishing a new version is the next lookup's answer."""
    first = publish_catalogue(tenant_a.municipality, "jido-teate", "welfare")
    found = procedure_get_published(municipality=tenant_a.municipality, code="jido-teate")
    assert found is not None
    assert found.current_version_id == first.pk
    second = publish_catalogue(tenant_a.municipality, "jido-teate", "citizens")
    found = procedure_get_published(municipality=tenant_a.municipality, code="jido-teate")
    assert found is not None
    assert found.current_version_id == second.pk
    assert found.department.code == "citizens"
