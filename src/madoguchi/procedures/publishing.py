"""Publishing procedures: uploading definitions as versions, publishing and withdrawing.

Two ways lead here. The command line (``madoguchi procedures load``) checks a definition and
makes it current at once (:func:`procedure_load_yaml` with ``publish=True``, or
:func:`procedure_publish` for data already read). The admin console uploads a definition as
a new, unpublished version (:func:`procedure_version_upload`), lets the admin preview it, and
then publishes it (:func:`procedure_version_publish`) or withdraws the procedure
(:func:`procedure_withdraw`). Every change writes an audit event.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.procedures.definition_source import (
    DefinitionSource,
    DefinitionSourceInvalid,
    definition_source_read,
)
from madoguchi.procedures.definitions import DefinitionError, ProcedureDefinition
from madoguchi.procedures.models import Procedure, ProcedureVersion
from madoguchi.procedures.selectors import definition_of
from madoguchi.tenants.models import Department, Municipality

__all__ = [
    "ProcedureWithdrawn",
    "UploadResult",
    "procedure_load_yaml",
    "procedure_publish",
    "procedure_reopen",
    "procedure_version_publish",
    "procedure_version_upload",
    "procedure_withdraw",
]


class ProcedureWithdrawn(Exception):  # noqa: N818 - mirrors SubmissionInvalid
    """The procedure was withdrawn: it takes no new applications."""


@dataclass(frozen=True, slots=True)
class UploadResult:
    version: ProcedureVersion
    created: bool  # False when the text equals an earlier version, which is returned


def _json_default(value: object) -> str:
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise DefinitionError(f"a definition holds a {type(value).__name__}, which is not data")


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    # YAML turns an unquoted 2024-04-01 into a date; store definitions as plain JSON.
    plain = json.loads(json.dumps(data, ensure_ascii=False, default=_json_default))
    assert isinstance(plain, dict)
    return plain


def _department_of(municipality: Municipality, definition: ProcedureDefinition) -> Department:
    department = Department.objects.filter(
        municipality=municipality, code=definition.department
    ).first()
    if department is None:
        raise DefinitionError(
            f"department {definition.department!r} does not exist in {municipality.code}",
            path=("department",),
        )
    return department


def _check_bundle_parts(municipality: Municipality, definition: ProcedureDefinition) -> None:
    """Every part must be published here, and its fields asked by the bundle with their types."""
    fields = {f.key: f.type for f in definition.fields}
    for index, code in enumerate(definition.parts):
        part = Procedure.objects.filter(
            municipality=municipality, code=code, current_version__isnull=False
        ).first()
        if part is None or part.current_version is None:
            raise DefinitionError(
                f"parts: procedure {code!r} is not published in {municipality.code}",
                path=("parts", index, "procedure"),
            )
        for spec in definition_of(part.current_version).fields:
            if spec.key not in fields:
                raise DefinitionError(
                    f"parts: {code!r} needs field {spec.key!r}, which the bundle lacks",
                    path=("parts", index, "procedure"),
                )
            if fields[spec.key] != spec.type:
                raise DefinitionError(
                    f"parts: field {spec.key!r} is {fields[spec.key]} in the bundle but "
                    f"{spec.type} in {code!r}",
                    path=("parts", index, "procedure"),
                )


def _store_version(
    *,
    municipality: Municipality,
    data: dict[str, Any],
    definition: ProcedureDefinition,
    department: Department,
    actor: AuditActor,
    source: str,
) -> tuple[Procedure, ProcedureVersion, bool]:
    """The version holding ``data``: the latest one when identical, else a new one."""
    procedure, _ = Procedure.objects.select_for_update().get_or_create(
        municipality=municipality, code=definition.code, defaults={"department": department}
    )
    digest = _digest(data)
    latest = procedure.versions.order_by("-number").first()
    current = procedure.current_version
    for candidate in (current, latest):
        if (
            candidate is not None
            and candidate.digest == digest
            and (candidate != current or procedure.department_id == department.pk)
        ):
            return procedure, candidate, False
    version = ProcedureVersion.objects.create(
        municipality=municipality,
        procedure=procedure,
        number=(latest.number if latest else 0) + 1,
        definition=data,
        digest=digest,
        created_by=actor.user_label,
        source=source,
    )
    return procedure, version, True


def _make_current(
    procedure: Procedure, version: ProcedureVersion, department: Department, *, reopen: bool
) -> bool:
    """Make ``version`` current (and open the procedure when ``reopen``); True if it changed."""
    fields: list[str] = []
    if procedure.current_version_id != version.pk or procedure.department_id != department.pk:
        procedure.current_version = version
        procedure.department = department
        fields += ["current_version", "department"]
    if reopen and not procedure.is_published:
        procedure.is_published = True
        fields.append("is_published")
    if version.published_at is None:
        version.published_at = timezone.now()
        version.save(update_fields=["published_at"])
    if fields:
        procedure.save(update_fields=fields)
    return bool(fields)


@transaction.atomic
def procedure_publish(
    *, municipality: Municipality, data: Mapping[str, Any], actor: AuditActor, source: str = ""
) -> ProcedureVersion:
    """Check a definition and make it the procedure's current version (the command line).

    A definition identical to the current one changes nothing (loading is idempotent);
    a changed one becomes a new version, while applications keep the version they used.
    A withdrawn procedure stays withdrawn. Raises DefinitionError for a malformed
    definition or an unknown department.
    """
    plain = _plain(data)
    definition = ProcedureDefinition.from_dict(plain)
    department = _department_of(municipality, definition)
    if definition.is_bundle:
        _check_bundle_parts(municipality, definition)
    procedure, version, _created = _store_version(
        municipality=municipality,
        data=plain,
        definition=definition,
        department=department,
        actor=actor,
        source=source,
    )
    if _make_current(procedure, version, department, reopen=False):
        audit_event(
            municipality=municipality,
            action="procedure.publish",
            actor=actor,
            obj=procedure,
            data={"code": definition.code, "version": version.number},
        )
    return version


def _checked_source(
    municipality: Municipality, text: str, department: str = ""
) -> tuple[DefinitionSource, dict[str, Any], Department]:
    source = definition_source_read(text, department=department)
    try:
        plain = _plain(source.data)
        resident_department = _department_of(municipality, source.definition)
        if source.definition.is_bundle:
            _check_bundle_parts(municipality, source.definition)
    except DefinitionError as exc:
        raise DefinitionSourceInvalid([source.problem(exc)]) from None
    return source, plain, resident_department


@transaction.atomic
def procedure_version_upload(
    *, municipality: Municipality, text: str, actor: AuditActor
) -> UploadResult:
    """Store a definition's YAML as a new, unpublished version of its procedure.

    Raises DefinitionSourceInvalid (problems with their lines) and stores nothing when the
    text is not a valid definition for this municipality. Text equal to the current or the
    latest version returns that version and stores nothing new.
    """
    source, plain, department = _checked_source(municipality, text)
    procedure, version, created = _store_version(
        municipality=municipality,
        data=plain,
        definition=source.definition,
        department=department,
        actor=actor,
        source=text,
    )
    if created:
        audit_event(
            municipality=municipality,
            action="procedure.version.upload",
            actor=actor,
            obj=procedure,
            data={"code": procedure.code, "version": version.number},
        )
    return UploadResult(version, created)


@transaction.atomic
def procedure_version_publish(
    *, municipality: Municipality, version: ProcedureVersion, actor: AuditActor
) -> ProcedureVersion:
    """Make an uploaded (or earlier) version current and open the procedure to residents.

    The checks that depend on other records (the department, a bundle's parts) run again,
    since they may have changed after the upload.
    """
    assert version.municipality_id == municipality.pk
    procedure = Procedure.objects.select_for_update().get(
        pk=version.procedure_id, municipality=municipality
    )
    definition = definition_of(version)
    department = _department_of(municipality, definition)
    if definition.is_bundle:
        _check_bundle_parts(municipality, definition)
    if _make_current(procedure, version, department, reopen=True):
        audit_event(
            municipality=municipality,
            action="procedure.publish",
            actor=actor,
            obj=procedure,
            data={"code": procedure.code, "version": version.number},
        )
    return version


@transaction.atomic
def procedure_withdraw(
    *, municipality: Municipality, procedure: Procedure, actor: AuditActor
) -> bool:
    """Take the procedure off the residents' catalogue and refuse new applications.

    Applications already submitted keep their workflow, status page and staff queue.
    Returns False when it was already withdrawn (nothing changes, no event).
    """
    locked = Procedure.objects.select_for_update().get(pk=procedure.pk, municipality=municipality)
    if not locked.is_published:
        return False
    locked.is_published = False
    locked.save(update_fields=["is_published"])
    audit_event(
        municipality=municipality,
        action="procedure.withdraw",
        actor=actor,
        obj=locked,
        data={"code": locked.code},
    )
    return True


@transaction.atomic
def procedure_reopen(
    *, municipality: Municipality, procedure: Procedure, actor: AuditActor
) -> bool:
    """Open a withdrawn procedure again with its current version (False: nothing to do)."""
    locked = Procedure.objects.select_for_update().get(pk=procedure.pk, municipality=municipality)
    if locked.is_published or locked.current_version_id is None:
        return False
    locked.is_published = True
    locked.save(update_fields=["is_published"])
    audit_event(
        municipality=municipality,
        action="procedure.reopen",
        actor=actor,
        obj=locked,
        data={"code": locked.code},
    )
    return True


def procedure_load_yaml(
    *,
    municipality: Municipality,
    text: str,
    actor: AuditActor,
    department: str = "",
) -> ProcedureVersion:
    """Check a definition's YAML and publish it at once (``madoguchi procedures load``).

    Raises DefinitionSourceInvalid with the line of each problem.
    """
    source = definition_source_read(text, department=department)
    try:
        return procedure_publish(
            municipality=municipality, data=source.data, actor=actor, source=text
        )
    except DefinitionError as exc:
        raise DefinitionSourceInvalid([source.problem(exc)]) from None
