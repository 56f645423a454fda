"""Procedure definitions: the data (usually YAML) that declares a procedure.

A definition names the procedure, who may apply, the responsible department, the fee, the
standard processing period, the wizard's steps and fields, which answers identify the
applicant, and the workflow: states with their public wording and the allowed transitions.
``ProcedureDefinition.from_dict`` refuses a malformed definition with a DefinitionError whose
message names the place (``steps[1].fields[0] ('name'): ...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from madoguchi.procedures.fieldtypes import DefinitionError, FieldSpec, specs_from_dicts
from madoguchi.tenants.models import Role

__all__ = [
    "DefinitionError",
    "IdentitySpec",
    "PaymentSpec",
    "ProcedureDefinition",
    "StateSpec",
    "StepSpec",
    "TransitionSpec",
    "Uniqueness",
    "load_definition_yaml",
]

_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ROLES = {r.value for r in Role}
_REQUIREMENTS = {"reason", "missing_items"}
_STATE_KEYS = {
    "label_ja",
    "label_en",
    "resident_action_ja",
    "resident_action_en",
    "final",
}
_IDENTITY_ROLES = ("name", "name_kana", "birth_date", "address", "email", "mynumber", "phone")
_TOP_KEYS = {
    "code",
    "name_ja",
    "name_en",
    "description_ja",
    "description_en",
    "eligibility_ja",
    "eligibility_en",
    "department",
    "fee",
    "fee_note_ja",
    "processing_days",
    "uniqueness",
    "identity",
    "steps",
    "workflow",
    "parts",
    "payment",
}


class Uniqueness:
    """Whether one person (or household) may have only one open application."""

    NONE = "none"
    PERSON = "person"
    HOUSEHOLD = "household"
    ALL = (NONE, PERSON, HOUSEHOLD)


@dataclass(frozen=True, slots=True)
class StepSpec:
    key: str
    title_ja: str
    title_en: str
    intro_ja: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True, slots=True)
class StateSpec:
    key: str
    label_ja: str
    label_en: str
    # What the resident should do now, shown on the status page (may be empty).
    resident_action_ja: str
    resident_action_en: str
    final: bool


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    requires: str  # "", "reason" or "missing_items"


@dataclass(frozen=True, slots=True)
class PaymentSpec:
    """A cash benefit: a base amount, plus an amount per item of a group (e.g. per member)."""

    base_amount: int
    per_item_field: str = ""
    per_item_amount: int = 0
    account_field: str = "account"


@dataclass(frozen=True, slots=True)
class IdentitySpec:
    """Which answer keys hold the applicant's identity (all optional)."""

    name: str = ""
    name_kana: str = ""
    birth_date: str = ""
    address: str = ""
    email: str = ""
    mynumber: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class ProcedureDefinition:
    code: str
    name_ja: str
    name_en: str
    description_ja: str
    description_en: str
    eligibility_ja: str
    eligibility_en: str
    department: str
    fee: int
    fee_note_ja: str
    processing_days: int
    uniqueness: str
    identity: IdentitySpec
    steps: tuple[StepSpec, ...]
    initial_state: str
    states: dict[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    raw: Mapping[str, Any]
    # A one-stop bundle (e.g. 転入ワンストップ) names the procedures it opens, one application
    # per part; its own steps ask every part's questions once, and it has no workflow.
    parts: tuple[str, ...] = ()
    payment: PaymentSpec | None = None

    @property
    def is_bundle(self) -> bool:
        return bool(self.parts)

    def payment_amount(self, answers: Mapping[str, Any]) -> int:
        """The yen to transfer for these answers (0 when the procedure pays nothing)."""
        if self.payment is None:
            return 0
        amount = self.payment.base_amount
        if self.payment.per_item_field:
            items = answers.get(self.payment.per_item_field)
            amount += self.payment.per_item_amount * (len(items) if isinstance(items, list) else 0)
        return amount

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        """Every top-level field of every step, in order."""
        return tuple(f for step in self.steps for f in step.fields)

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def step(self, key: str) -> StepSpec | None:
        return next((s for s in self.steps if s.key == key), None)

    def allowed_targets(self, state: str) -> tuple[TransitionSpec, ...]:
        return tuple(t for t in self.transitions if state in t.sources)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcedureDefinition:
        if not isinstance(data, Mapping):
            raise DefinitionError("a definition must be a mapping")
        unknown = sorted(set(data) - _TOP_KEYS, key=str)
        if unknown:
            raise DefinitionError(f"unknown top-level keys {unknown}", path=(unknown[0],))
        code = _text(data, "code", "definition", required=True)
        if not _CODE.match(code):
            raise DefinitionError(
                f"code {code!r} must be lower-case letters, digits and '-' (at most 63)",
                path=("code",),
            )
        steps = _steps(data.get("steps"))
        keys = [f.key for s in steps for f in s.fields]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise DefinitionError(
                f"field keys used in more than one step: {duplicates}",
                path=_second_use(steps, duplicates[0]),
            )
        parts = _parts(data.get("parts"))
        initial: str
        states: dict[str, StateSpec]
        transitions: tuple[TransitionSpec, ...]
        if parts:
            if data.get("workflow") is not None:
                raise DefinitionError(
                    "a bundle (with parts) has no workflow of its own", path=("workflow",)
                )
            initial, states, transitions = "", {}, ()
        else:
            try:
                initial, states, transitions = _workflow(data.get("workflow"))
            except DefinitionError as exc:
                raise exc.within("workflow") from None
        uniqueness = _text(data, "uniqueness", "definition", required=False) or Uniqueness.NONE
        if uniqueness not in Uniqueness.ALL:
            raise DefinitionError(
                f"uniqueness must be one of {list(Uniqueness.ALL)}", path=("uniqueness",)
            )
        return cls(
            code=code,
            name_ja=_text(data, "name_ja", "definition", required=True),
            name_en=_text(data, "name_en", "definition", required=False),
            description_ja=_text(data, "description_ja", "definition", required=False),
            description_en=_text(data, "description_en", "definition", required=False),
            eligibility_ja=_text(data, "eligibility_ja", "definition", required=False),
            eligibility_en=_text(data, "eligibility_en", "definition", required=False),
            department=_text(data, "department", "definition", required=True),
            fee=_integer(data, "fee", "definition", default=0),
            fee_note_ja=_text(data, "fee_note_ja", "definition", required=False),
            processing_days=_integer(data, "processing_days", "definition", default=10),
            uniqueness=uniqueness,
            identity=_identity(data.get("identity"), set(keys)),
            steps=steps,
            initial_state=initial,
            states=states,
            transitions=transitions,
            raw=data,
            parts=parts,
            payment=_payment(data.get("payment"), {f.key: f.type for s in steps for f in s.fields}),
        )


def load_definition_yaml(text: str) -> ProcedureDefinition:
    """Parse YAML text into a checked definition (YAML errors become DefinitionError)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"not valid YAML: {exc}") from None
    return ProcedureDefinition.from_dict(data)


def _second_use(steps: tuple[StepSpec, ...], key: str) -> tuple[str | int, ...]:
    """The path of the second field named ``key`` (the first one is where it belongs)."""
    seen = False
    for step_index, step in enumerate(steps):
        for field_index, spec in enumerate(step.fields):
            if spec.key == key:
                if seen:
                    return ("steps", step_index, "fields", field_index, "key")
                seen = True
    return ("steps",)


def _text(data: Mapping[str, Any], name: str, where: str, *, required: bool) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DefinitionError(f"{where}: {name!r} must be text", path=(name,))
    if required and not value.strip():
        raise DefinitionError(f"{where}: {name!r} is required", path=(name,))
    return value.strip()


def _integer(data: Mapping[str, Any], name: str, where: str, *, default: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DefinitionError(
            f"{where}: {name!r} must be a whole number of 0 or more", path=(name,)
        )
    return value


def _steps(raw: Any) -> tuple[StepSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise DefinitionError("steps must be a non-empty list", path=("steps",))
    steps: list[StepSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        try:
            steps.append(_step(item, index, seen))
        except DefinitionError as exc:
            raise exc.within("steps", index) from None
    return tuple(steps)


def _step(item: Any, index: int, seen: set[str]) -> StepSpec:
    """One step; errors carry their path from the step."""
    where = f"steps[{index}]"
    if not isinstance(item, Mapping):
        raise DefinitionError(f"{where} must be a mapping")
    key = _text(item, "key", where, required=True)
    if not _KEY.match(key) or key in seen or key in {"review", "done"}:
        raise DefinitionError(
            f"{where}: key {key!r} is not a new lower-case identifier", path=("key",)
        )
    seen.add(key)
    unknown = sorted(set(item) - {"key", "title_ja", "title_en", "intro_ja", "fields"}, key=str)
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {unknown}", path=(unknown[0],))
    try:
        fields = specs_from_dicts(item.get("fields") or [])
    except DefinitionError as exc:
        raise exc.within("fields", message=f"{where}.{exc}") from None
    if not fields:
        raise DefinitionError(f"{where}: a step needs at least one field", path=("fields",))
    return StepSpec(
        key=key,
        title_ja=_text(item, "title_ja", where, required=True),
        title_en=_text(item, "title_en", where, required=False),
        intro_ja=_text(item, "intro_ja", where, required=False),
        fields=fields,
    )


def _payment(raw: Any, fields: dict[str, str]) -> PaymentSpec | None:
    if raw is None:
        return None
    try:
        return _payment_spec(raw, fields)
    except DefinitionError as exc:
        raise exc.within("payment") from None


def _payment_spec(raw: Any, fields: dict[str, str]) -> PaymentSpec:
    where = "payment"
    if not isinstance(raw, Mapping):
        raise DefinitionError(f"{where}: expected base_amount, per_item and account_field")
    unknown = sorted(set(raw) - {"base_amount", "per_item", "account_field"}, key=str)
    if unknown:
        raise DefinitionError(
            f"{where}: expected base_amount, per_item and account_field", path=(unknown[0],)
        )
    base = _integer(raw, "base_amount", where, default=0)
    account = _text(raw, "account_field", where, required=False) or "account"
    if fields.get(account) != "bank_account":
        raise DefinitionError(
            f"{where}: account_field {account!r} is not a bank_account field",
            path=("account_field",),
        )
    per_item = raw.get("per_item") or {}
    if not isinstance(per_item, Mapping) or set(per_item) - {"field", "amount"}:
        raise DefinitionError(f"{where}.per_item: expected field and amount", path=("per_item",))
    try:
        field = _text(per_item, "field", where, required=False)
        if field and fields.get(field) != "group":
            raise DefinitionError(
                f"{where}.per_item: {field!r} is not a group field", path=("field",)
            )
        amount = _integer(per_item, "amount", where, default=0)
    except DefinitionError as exc:
        raise exc.within("per_item") from None
    return PaymentSpec(base, field, amount, account)


def _parts(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) < 2:
        raise DefinitionError("parts must list at least two procedures", path=("parts",))
    codes: list[str] = []
    for index, item in enumerate(raw):
        code = item.get("procedure") if isinstance(item, Mapping) else None
        if not isinstance(code, str) or not _CODE.match(code) or code in codes:
            raise DefinitionError(
                f"parts[{index}]: 'procedure' must name a new procedure code",
                path=("parts", index, "procedure"),
            )
        if set(item) - {"procedure"}:
            unknown = sorted(set(item) - {"procedure"}, key=str)
            raise DefinitionError(
                f"parts[{index}]: unknown keys {unknown}", path=("parts", index, unknown[0])
            )
        codes.append(code)
    return tuple(codes)


def _identity(raw: Any, keys: set[str]) -> IdentitySpec:
    if raw is None:
        return IdentitySpec()
    if not isinstance(raw, Mapping):
        raise DefinitionError("identity must be a mapping of role: field key", path=("identity",))
    unknown = sorted(set(raw) - set(_IDENTITY_ROLES), key=str)
    if unknown:
        raise DefinitionError(
            f"identity: unknown roles {unknown}; known: {list(_IDENTITY_ROLES)}",
            path=("identity", unknown[0]),
        )
    for role, key in raw.items():
        if not isinstance(key, str) or key not in keys:
            raise DefinitionError(
                f"identity: {role} names {key!r}, which is not a field", path=("identity", role)
            )
    return IdentitySpec(**{role: str(key) for role, key in raw.items()})


def _workflow(raw: Any) -> tuple[str, dict[str, StateSpec], tuple[TransitionSpec, ...]]:
    if not isinstance(raw, Mapping):
        raise DefinitionError("workflow must be a mapping with initial, states and transitions")
    raw_states = raw.get("states")
    if not isinstance(raw_states, Mapping) or not raw_states:
        raise DefinitionError("workflow.states must be a non-empty mapping", path=("states",))
    states: dict[str, StateSpec] = {}
    for key, item in raw_states.items():
        try:
            states[key] = _state(key, item)
        except DefinitionError as exc:
            raise exc.within("states", key) from None
    unknown_top = sorted(set(raw) - {"initial", "states", "transitions"}, key=str)
    if unknown_top:
        raise DefinitionError(f"workflow: unknown keys {unknown_top}", path=(unknown_top[0],))
    initial = raw.get("initial")
    if not isinstance(initial, str) or initial not in states:
        raise DefinitionError(
            f"workflow.initial {initial!r} is not one of the states", path=("initial",)
        )
    raw_transitions = raw.get("transitions") or []
    if not isinstance(raw_transitions, list):
        raise DefinitionError("workflow.transitions must be a list", path=("transitions",))
    transitions: list[TransitionSpec] = []
    for index, item in enumerate(raw_transitions):
        try:
            transitions.append(_transition(index, item, states))
        except DefinitionError as exc:
            raise exc.within("transitions", index) from None
    reachable = {initial}
    changed = True
    while changed:
        changed = False
        for t in transitions:
            if reachable & set(t.sources) and t.target not in reachable:
                reachable.add(t.target)
                changed = True
    unreachable = sorted(set(states) - reachable)
    if unreachable:
        raise DefinitionError(
            f"workflow: states {unreachable} cannot be reached from {initial!r}",
            path=("states", unreachable[0]),
        )
    return str(initial), states, tuple(transitions)


def _state(key: Any, item: Any) -> StateSpec:
    where = f"workflow.states.{key}"
    if not isinstance(key, str) or not _KEY.match(key):
        raise DefinitionError(f"{where}: state keys are lower-case identifiers")
    if not isinstance(item, Mapping):
        raise DefinitionError(f"{where} must be a mapping")
    unknown = sorted(set(item) - _STATE_KEYS, key=str)
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {unknown}", path=(unknown[0],))
    final = item.get("final", False)
    if not isinstance(final, bool):
        raise DefinitionError(f"{where}: final must be true or false", path=("final",))
    return StateSpec(
        key=key,
        label_ja=_text(item, "label_ja", where, required=True),
        label_en=_text(item, "label_en", where, required=False),
        resident_action_ja=_text(item, "resident_action_ja", where, required=False),
        resident_action_en=_text(item, "resident_action_en", where, required=False),
        final=final,
    )


def _transition(index: int, item: Any, states: dict[str, StateSpec]) -> TransitionSpec:
    where = f"workflow.transitions[{index}]"
    if not isinstance(item, Mapping):
        raise DefinitionError(f"{where} must be a mapping")
    unknown = sorted(set(item) - {"from", "to", "roles", "requires"}, key=str)
    if unknown:
        raise DefinitionError(f"{where}: unknown keys {unknown}", path=(unknown[0],))
    sources = item.get("from")
    sources_list = [sources] if isinstance(sources, str) else sources
    if not isinstance(sources_list, list) or not sources_list:
        raise DefinitionError(
            f"{where}: 'from' must be a state or a list of states", path=("from",)
        )
    for name, source in [*(("from", s) for s in sources_list), ("to", item.get("to"))]:
        if not isinstance(source, str) or source not in states:
            raise DefinitionError(f"{where}: unknown state {source!r}", path=(name,))
    roles = item.get("roles") or []
    if (
        not isinstance(roles, list)
        or not roles
        or not all(isinstance(r, str) for r in roles)
        or set(roles) - _ROLES
    ):
        raise DefinitionError(
            f"{where}: roles must be a list from {sorted(_ROLES)}", path=("roles",)
        )
    requires = item.get("requires") or ""
    if requires and (not isinstance(requires, str) or requires not in _REQUIREMENTS):
        raise DefinitionError(
            f"{where}: requires must be one of {sorted(_REQUIREMENTS)}", path=("requires",)
        )
    for source in sources_list:
        if states[source].final:
            raise DefinitionError(
                f"{where}: {source!r} is final and cannot be left", path=("from",)
            )
    return TransitionSpec(tuple(sources_list), str(item["to"]), tuple(roles), str(requires))
