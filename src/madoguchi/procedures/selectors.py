"""Reading procedures, definitions and applications' public status."""

from __future__ import annotations

from django.db.models import QuerySet

from madoguchi.procedures.definitions import ProcedureDefinition
from madoguchi.procedures.models import Application, Procedure, ProcedureVersion
from madoguchi.tenants.models import Municipality

__all__ = [
    "application_get_by_receipt",
    "definition_of",
    "procedure_get_published",
    "procedure_list_published",
]


def procedure_list_published(*, municipality: Municipality) -> QuerySet[Procedure]:
    """The municipality's published procedures with their current definitions."""
    return (
        Procedure.objects.filter(
            municipality=municipality, is_published=True, current_version__isnull=False
        )
        .select_related("current_version", "department")
        .order_by("code")
    )


def procedure_get_published(*, municipality: Municipality, code: str) -> Procedure | None:
    return procedure_list_published(municipality=municipality).filter(code=code).first()


# Versions never change once written, so a parsed definition can be kept per process.
_DEFINITIONS: dict[tuple[int, str], ProcedureDefinition] = {}
_DEFINITIONS_MAX = 1024


def definition_of(version: ProcedureVersion) -> ProcedureDefinition:
    """The parsed definition of a version (parsed once per process)."""
    key = (version.pk, version.digest)
    definition = _DEFINITIONS.get(key)
    if definition is None:
        if len(_DEFINITIONS) >= _DEFINITIONS_MAX:
            _DEFINITIONS.clear()
        definition = ProcedureDefinition.from_dict(version.definition)
        _DEFINITIONS[key] = definition
    return definition


def application_get_by_receipt(
    *, municipality: Municipality, receipt_number: str
) -> Application | None:
    return (
        Application.objects.filter(municipality=municipality, receipt_number=receipt_number)
        .select_related("version", "procedure")
        .first()
    )
