"""Creating municipalities, departments and memberships."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from django.db import transaction

from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.core.checkdigits import lgcode_with_check_digit, validate_lgcode
from madoguchi.tenants.models import Department, Membership, Municipality, Role

if TYPE_CHECKING:
    from madoguchi.accounts.models import User

__all__ = [
    "LgCodeRow",
    "department_ensure",
    "lgcode_rows",
    "membership_grant",
    "municipalities_load",
    "municipality_rename",
]


@dataclass(frozen=True, slots=True)
class LgCodeRow:
    code: str  # 6 digits with the check digit
    name: str
    parent_code: str | None


def lgcode_rows() -> dict[str, LgCodeRow]:
    """The bundled list of local bodies (LG_CODE.csv, MIT, built from e-Stat), by 6-digit code."""
    text = resources.files("madoguchi.tenants").joinpath("data/LG_CODE.csv").read_text("utf-8-sig")
    rows: dict[str, LgCodeRow] = {}
    for record in csv.DictReader(text.splitlines()):
        raw, parent = record["lgcode"].strip(), record["parent"].strip()
        if raw == "0":  # 全国, not a body of its own
            continue
        code = lgcode_with_check_digit(raw)
        parent_code = None if parent in {"0", "-1", ""} else lgcode_with_check_digit(parent)
        rows[code] = LgCodeRow(code, record["name_ja"].strip(), parent_code)
    return rows


def _prefecture_code(code: str) -> str:
    return lgcode_with_check_digit(code[:2] + "000")


@transaction.atomic
def municipalities_load(
    *,
    codes: Iterable[str] | None,
    activate: bool = False,
    actor: AuditActor,
) -> list[Municipality]:
    """Create (or update the names of) municipalities from the bundled LG_CODE list.

    ``codes`` of None loads every body. Parents and prefectures are created too, inactive
    unless named. Returns the municipalities named (or all). Unknown codes raise KeyError.
    """
    table = lgcode_rows()
    wanted = list(table) if codes is None else [validate_lgcode(c) for c in codes]
    unknown = [c for c in wanted if c not in table]
    if unknown:
        raise KeyError(", ".join(unknown))

    needed: list[str] = []
    for code in wanted:  # ancestors first, so parents exist before their children
        chain = []
        cursor: str | None = code
        while cursor is not None and cursor not in needed and cursor not in chain:
            chain.append(cursor)
            cursor = table[cursor].parent_code if cursor in table else None
        needed.extend(reversed(chain))

    existing = {m.code: m for m in Municipality.objects.filter(code__in=needed)}
    result: dict[str, Municipality] = {}
    created: list[str] = []
    for code in needed:
        row = table[code]
        muni = existing.get(code)
        parent = result.get(row.parent_code or "") or existing.get(row.parent_code or "")
        prefecture = None
        if code[2:5] != "000":
            pref_code = _prefecture_code(code)
            prefecture = result.get(pref_code) or existing.get(pref_code)
        if muni is None:
            muni = Municipality.objects.create(
                code=code,
                name=row.name,
                slug=code,
                parent=parent,
                prefecture=prefecture,
                is_active=activate and code in wanted,
            )
            created.append(code)
        else:
            changed = muni.name != row.name or muni.parent_id != (parent.pk if parent else None)
            if activate and code in wanted and not muni.is_active:
                muni.is_active = True
                changed = True
            if changed:
                muni.name, muni.parent, muni.prefecture = row.name, parent, prefecture
                muni.save(update_fields=["name", "parent", "prefecture", "is_active"])
        result[code] = muni
    if created:
        audit_event(
            municipality=None,
            action="municipality.load",
            actor=actor,
            data={"created": len(created), "codes": created[:50], "activate": activate},
        )
    return [result[c] for c in wanted]


@transaction.atomic
def department_ensure(
    *, municipality: Municipality, code: str, name: str, actor: AuditActor
) -> Department:
    """The department with this code, created or renamed as needed."""
    department, created = Department.objects.get_or_create(
        municipality=municipality, code=code, defaults={"name": name}
    )
    if not created and department.name != name:
        department.name = name
        department.save(update_fields=["name"])
    if created:
        audit_event(
            municipality=municipality,
            action="department.create",
            actor=actor,
            obj=department,
            data={"code": code, "name": name},
        )
    return department


class MembershipError(ValueError):
    pass


@transaction.atomic
def membership_grant(
    *,
    municipality: Municipality,
    user: User,
    role: Role,
    department: Department | None,
    actor: AuditActor,
) -> Membership:
    """Give ``user`` a role in the municipality (or one of its departments); idempotent."""
    if department is not None and department.municipality_id != municipality.pk:
        raise MembershipError("department belongs to another municipality")
    membership, created = Membership.objects.get_or_create(
        user=user, municipality=municipality, department=department, defaults={"role": role}
    )
    if created or membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
        audit_event(
            municipality=municipality,
            action="membership.grant",
            actor=actor,
            obj=membership,
            data={
                "user": user.get_username(),
                "role": str(role),
                "department": department.code if department else None,
            },
        )
    return membership


@transaction.atomic
def municipality_rename(*, municipality: Municipality, name: str, actor: AuditActor) -> bool:
    """Change the name shown for the municipality; False when it was already ``name``."""
    name = name.strip()
    if not name or name == municipality.name:
        return False
    before = municipality.name
    municipality.name = name
    municipality.save(update_fields=["name"])
    audit_event(
        municipality=municipality,
        action="municipality.rename",
        actor=actor,
        obj=municipality,
        data={"from": before, "to": name},
    )
    return True
