"""Tests for the demo catalogue as the demo loader publishes it."""

from __future__ import annotations

import pytest

from madoguchi.audit.models import AuditEntry
from madoguchi.demo.services import DEMO_MUNICIPALITIES, demo_load
from madoguchi.procedures.catalogue import DEMO_CODES, catalogue_definition
from madoguchi.procedures.models import Procedure, ProcedureVersion

# The four procedures of the first demo and where each municipality handles them; the demo
# may add more (see DEMO_MUNICIPALITIES), but these stay as they are.
FIRST_FOUR = {
    "kobe": {
        "jido-teate": "kodomo",
        "juminhyo": "shimin",
        "sodai-gomi": "kankyo",
        "teigaku-kyufukin": "fukushi",
    },
    "sayo": {
        "jido-teate": "kenko-fukushi",
        "juminhyo": "jumin",
        "sodai-gomi": "jumin",
        "teigaku-kyufukin": "kenko-fukushi",
    },
}


SPEC = {spec.slug: dict(spec.procedures) for spec in DEMO_MUNICIPALITIES}
PROCEDURE_COUNT = sum(len(spec.procedures) for spec in DEMO_MUNICIPALITIES)


def published() -> dict[str, dict[str, str]]:
    """Slug -> procedure code -> department code, of every procedure with a current version."""
    result: dict[str, dict[str, str]] = {}
    for procedure in Procedure.objects.select_related(
        "municipality", "department", "current_version"
    ).filter(current_version__isnull=False, is_published=True):
        result.setdefault(procedure.municipality.slug, {})[procedure.code] = (
            procedure.department.code
        )
    return result


@pytest.mark.django_db
def test_the_demo_loader_publishes_the_catalogue_in_each_demo_municipality() -> None:
    """神戸市 and 佐用町 each get every catalogue procedure, each in its demo department."""
    demo_load()

    assert published() == SPEC
    assert [m.slug for m in DEMO_MUNICIPALITIES] == ["kobe", "sayo"]
    for slug, procedures in FIRST_FOUR.items():
        assert {code: SPEC[slug][code] for code in procedures} == procedures
    for slug in SPEC:
        assert sorted(SPEC[slug]) == sorted(DEMO_CODES)
    for procedure in Procedure.objects.select_related("current_version", "department"):
        version = procedure.current_version
        assert version is not None
        assert version.number == 1
        assert version.municipality_id == procedure.municipality_id
        assert version.definition == {
            **catalogue_definition(procedure.code),
            "department": procedure.department.code,
        }
    assert AuditEntry.objects.filter(action="procedure.publish").count() == PROCEDURE_COUNT


@pytest.mark.django_db
def test_running_the_demo_loader_twice_changes_nothing() -> None:
    """A second run finds every version in place: same ids, no new version, no new audit entry."""
    demo_load()
    versions = list(ProcedureVersion.objects.order_by("pk").values_list("pk", "procedure_id"))
    current = dict(Procedure.objects.values_list("pk", "current_version_id"))
    audit_entries = AuditEntry.objects.count()

    demo_load()

    assert list(ProcedureVersion.objects.order_by("pk").values_list("pk", "procedure_id")) == (
        versions
    )
    assert dict(Procedure.objects.values_list("pk", "current_version_id")) == current
    assert AuditEntry.objects.count() == audit_entries
    assert len(versions) == PROCEDURE_COUNT
    assert published() == SPEC
