"""Tests for madoguchi.procedures.definitions: the catalogue loads, malformed definitions do not."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
import yaml

from madoguchi.procedures.catalogue import DEMO_CODES, catalogue_definition
from madoguchi.procedures.definitions import (
    DefinitionError,
    IdentitySpec,
    ProcedureDefinition,
    StateSpec,
    TransitionSpec,
    Uniqueness,
    load_definition_yaml,
)

CATALOGUE = resources.files("madoguchi.procedures.catalogue")
CATALOGUE_FILES = sorted(p.name for p in CATALOGUE.iterdir() if p.name.endswith(".yaml"))

# The smallest definition that passes; each refusal below breaks one thing in a copy of it.
BASE: dict[str, Any] = {
    "code": "inu-toroku",
    "name_ja": "犬の登録",
    "department": "welfare",
    "identity": {"name": "name"},
    "steps": [
        {
            "key": "owner",
            "title_ja": "飼い主",
            "fields": [{"key": "name", "type": "text", "label_ja": "氏名"}],
        },
        {
            "key": "dog",
            "title_ja": "犬",
            "fields": [{"key": "dog_name", "type": "text", "label_ja": "犬の名前"}],
        },
    ],
    "workflow": {
        "initial": "received",
        "states": {
            "received": {"label_ja": "受付済", "label_en": "Received"},
            "registered": {"label_ja": "登録済み", "final": True},
        },
        "transitions": [
            {"from": "received", "to": "registered", "roles": ["clerk"], "requires": "reason"}
        ],
    },
}


def changed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def transition(data: dict[str, Any], **values: Any) -> None:
    data["workflow"]["transitions"][0].update(values)


# --- what loads -------------------------------------------------------------------------------


def test_the_catalogue_holds_exactly_the_demo_procedures() -> None:
    """Every bundled YAML file is one of DEMO_CODES and every demo code has its file."""
    assert sorted(f"{code}.yaml" for code in DEMO_CODES) == CATALOGUE_FILES


@pytest.mark.parametrize("filename", CATALOGUE_FILES)
def test_every_catalogue_file_loads(filename: str) -> None:
    """Each catalogue YAML is a valid definition whose code is its file name.

    A procedure starts in a state that is not final; a one-stop bundle has parts that are
    themselves catalogue procedures, and no workflow of its own.
    """
    definition = load_definition_yaml(CATALOGUE.joinpath(filename).read_text("utf-8"))

    assert definition.code == filename.removesuffix(".yaml")
    assert dict(definition.raw) == catalogue_definition(definition.code)
    if definition.is_bundle:
        assert set(definition.parts) <= set(DEMO_CODES) - {definition.code}
        assert (definition.initial_state, definition.states) == ("", {})
    else:
        assert definition.states[definition.initial_state].final is False


def test_the_kyufukin_definition_reads_as_declared() -> None:
    """特別定額給付金: its settings, steps, identity and workflow, as the YAML declares them."""
    definition = ProcedureDefinition.from_dict(catalogue_definition("teigaku-kyufukin"))

    assert (definition.name_ja, definition.name_en) == (
        "特別定額給付金の申請",
        "Special Cash Payment application",
    )
    assert (definition.department, definition.fee, definition.processing_days) == ("fukushi", 0, 20)
    assert definition.uniqueness == Uniqueness.HOUSEHOLD
    assert definition.identity == IdentitySpec(
        name="name",
        name_kana="name_kana",
        birth_date="birth_date",
        address="address",
        email="email",
        phone="phone",
    )
    assert [s.key for s in definition.steps] == ["applicant", "household", "bank", "documents"]
    assert [f.key for f in definition.fields] == [
        "name",
        "name_kana",
        "birth_date",
        "postal_code",
        "address",
        "phone",
        "email",
        "members",
        "account",
        "id_document",
        "agreement",
    ]
    assert list(definition.states) == [
        "received",
        "reviewing",
        "more_info",
        "transfer_pending",
        "paid",
        "on_hold",
        "rejected",
        "withdrawn",
    ]
    assert sorted(k for k, s in definition.states.items() if s.final) == [
        "paid",
        "rejected",
        "withdrawn",
    ]
    assert definition.states["received"] == StateSpec(
        key="received",
        label_ja="受付済",
        label_en="Received",
        resident_action_ja="審査が始まるまでお待ちください。",
        resident_action_en="Please wait until the review starts.",
        final=False,
    )
    assert {s.label_ja for s in definition.states.values()} >= {
        "審査中",
        "振込手続き中",
        "振込済み",
        "保留中",
    }  # the words Kobe's 2020 status check used (JAPAN_SPECS.md)
    raw_transitions = catalogue_definition("teigaku-kyufukin")["workflow"]["transitions"]
    assert definition.transitions == tuple(
        TransitionSpec(
            (t["from"],) if isinstance(t["from"], str) else tuple(t["from"]),
            t["to"],
            tuple(t["roles"]),
            t.get("requires", ""),
        )
        for t in raw_transitions
    )
    assert definition.allowed_targets("paid") == ()


def test_the_base_definition_of_these_tests_loads() -> None:
    """The starting point of the refusals below is itself valid (so each refusal has one cause)."""
    definition = ProcedureDefinition.from_dict(BASE)

    assert definition.code == "inu-toroku"
    assert definition.uniqueness == Uniqueness.NONE
    assert (definition.fee, definition.processing_days) == (0, 10)
    assert definition.transitions == (
        TransitionSpec(("received",), "registered", ("clerk",), "reason"),
    )


# --- what is refused ---------------------------------------------------------------------------

REFUSALS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    (
        "unknown top-level key",
        lambda d: d.update(departmnet="welfare", colour="red"),
        "unknown top-level keys ['colour', 'departmnet']",
    ),
    (
        "code with upper-case letters",
        lambda d: d.update(code="Inu-Toroku"),
        "code 'Inu-Toroku' must be lower-case letters, digits and '-' (at most 63)",
    ),
    (
        "code starting with a hyphen",
        lambda d: d.update(code="-inu"),
        "code '-inu' must be lower-case letters, digits and '-' (at most 63)",
    ),
    (
        "code of 64 characters",
        lambda d: d.update(code="a" * 64),
        f"code {'a' * 64!r} must be lower-case letters, digits and '-' (at most 63)",
    ),
    (
        "code missing",
        lambda d: d.pop("code"),
        "definition: 'code' is required",
    ),
    (
        "steps empty",
        lambda d: d.update(steps=[]),
        "steps must be a non-empty list",
    ),
    (
        "steps missing",
        lambda d: d.pop("steps"),
        "steps must be a non-empty list",
    ),
    (
        "a step without fields",
        lambda d: d["steps"][1].update(fields=[]),
        "steps[1]: a step needs at least one field",
    ),
    (
        "a step named like a wizard page",
        lambda d: d["steps"][1].update(key="review"),
        "steps[1]: key 'review' is not a new lower-case identifier",
    ),
    (
        "field keys repeated across steps",
        lambda d: d["steps"][1]["fields"].append({"key": "name", "type": "kana", "label_ja": "x"}),
        "field keys used in more than one step: ['name']",
    ),
    (
        "a bad field, named with its step",
        lambda d: d["steps"][1]["fields"].append({"key": "age", "type": "years", "label_ja": "x"}),
        "steps[1].fields[1] ('age'): unknown type 'years'; known types: address, bank_account, "
        "checkbox, choice, date, email, file, group, integer, kana, mynumber, phone, "
        "postal_code, text",
    ),
    (
        "transition to an unknown state",
        lambda d: transition(d, to="approved"),
        "workflow.transitions[0]: unknown state 'approved'",
    ),
    (
        "transition from an unknown state",
        lambda d: transition(d, **{"from": ["received", "checking"]}),
        "workflow.transitions[0]: unknown state 'checking'",
    ),
    (
        "transition without a target",
        lambda d: d["workflow"]["transitions"][0].pop("to"),
        "workflow.transitions[0]: unknown state None",
    ),
    (
        "initial state unknown",
        lambda d: d["workflow"].update(initial="new"),
        "workflow.initial 'new' is not one of the states",
    ),
    (
        "unreachable state",
        lambda d: d["workflow"]["states"].update(archived={"label_ja": "保存"}),
        "workflow: states ['archived'] cannot be reached from 'received'",
    ),
    (
        "leaving a final state",
        lambda d: d["workflow"]["transitions"].append(
            {"from": "registered", "to": "received", "roles": ["admin"]}
        ),
        "workflow.transitions[1]: 'registered' is final and cannot be left",
    ),
    (
        "unknown role",
        lambda d: transition(d, roles=["clerk", "mayor"]),
        "workflow.transitions[0]: roles must be a list from "
        "['admin', 'clerk', 'supervisor', 'viewer']",
    ),
    (
        "no role",
        lambda d: transition(d, roles=[]),
        "workflow.transitions[0]: roles must be a list from "
        "['admin', 'clerk', 'supervisor', 'viewer']",
    ),
    (
        "bad requires",
        lambda d: transition(d, requires="approval"),
        "workflow.transitions[0]: requires must be one of ['missing_items', 'reason']",
    ),
    (
        "identity naming a missing field",
        lambda d: d.update(identity={"name": "name", "email": "mail"}),
        "identity: email names 'mail', which is not a field",
    ),
    (
        "identity with an unknown role",
        lambda d: d.update(identity={"nickname": "name"}),
        "identity: unknown roles ['nickname']; known: "
        "['name', 'name_kana', 'birth_date', 'address', 'email', 'mynumber', 'phone']",
    ),
    (
        "unknown uniqueness",
        lambda d: d.update(uniqueness="family"),
        "uniqueness must be one of ['none', 'person', 'household']",
    ),
    (
        "a fee that is not a whole number",
        lambda d: d.update(fee=True),
        "definition: 'fee' must be a whole number of 0 or more",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [pytest.param(change, message, id=name) for name, change, message in REFUSALS],
)
def test_a_malformed_definition_is_refused_with_a_message_naming_the_place(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    """Each malformed definition is refused with a DefinitionError stating what is wrong where."""
    with pytest.raises(DefinitionError) as caught:
        ProcedureDefinition.from_dict(changed(change))

    assert str(caught.value) == message


def test_a_definition_that_is_not_a_mapping_is_refused() -> None:
    """A YAML list (or scalar) is refused as a whole."""
    with pytest.raises(DefinitionError) as caught:
        load_definition_yaml("- code: inu-toroku\n")

    assert str(caught.value) == "a definition must be a mapping"


def test_a_yaml_syntax_error_becomes_a_definition_error() -> None:
    """Broken YAML is a DefinitionError carrying the parser's message, not a yaml.YAMLError."""
    text = "code: inu-toroku\nsteps: [\n  - key: owner\n"
    with pytest.raises(yaml.YAMLError) as parser_error:
        yaml.safe_load(text)

    with pytest.raises(DefinitionError) as caught:
        load_definition_yaml(text)

    assert str(caught.value) == f"not valid YAML: {parser_error.value}"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


def test_yaml_that_parses_is_checked_like_a_dict() -> None:
    """load_definition_yaml applies the same checks as from_dict."""
    text = yaml.safe_dump(changed(lambda d: transition(d, requires="approval")))

    with pytest.raises(DefinitionError) as caught:
        load_definition_yaml(text)

    assert str(caught.value) == (
        "workflow.transitions[0]: requires must be one of ['missing_items', 'reason']"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda d: transition(d, **{"from": [{"state": "received"}]}),
            "workflow.transitions[0]: unknown state {'state': 'received'}",
            id="from",
        ),
        pytest.param(
            lambda d: transition(d, to=["registered"]),
            "workflow.transitions[0]: unknown state ['registered']",
            id="to",
        ),
        pytest.param(
            lambda d: transition(d, roles=[["clerk"]]),
            "workflow.transitions[0]: roles must be a list from "
            "['admin', 'clerk', 'supervisor', 'viewer']",
            id="roles",
        ),
        pytest.param(
            lambda d: transition(d, requires=["reason"]),
            "workflow.transitions[0]: requires must be one of ['missing_items', 'reason']",
            id="requires",
        ),
        pytest.param(
            lambda d: d["workflow"].update(initial=["received"]),
            "workflow.initial ['received'] is not one of the states",
            id="initial",
        ),
        pytest.param(
            lambda d: d.update(identity={"name": ["name"]}),
            "identity: name names ['name'], which is not a field",
            id="identity",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_in_the_workflow_is_a_definition_error(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    """A list where a state, role or field name belongs is refused like any other mistake.

    ``madoguchi procedures load`` reports a DefinitionError per file and goes on; a TypeError
    (unhashable type, as these once raised) would abort the whole run.
    """
    with pytest.raises(DefinitionError) as caught:
        ProcedureDefinition.from_dict(changed(change))

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda d: d["workflow"]["transitions"][0].update(
                {"require": d["workflow"]["transitions"][0].pop("requires")}
            ),
            "workflow.transitions[0]: unknown keys ['require']",
            id="transition",
        ),
        pytest.param(
            lambda d: d["workflow"]["states"]["registered"].update(
                {"is_final": d["workflow"]["states"]["registered"].pop("final")}
            ),
            "workflow.states.registered: unknown keys ['is_final']",
            id="state",
        ),
        pytest.param(
            lambda d: d["workflow"].update(transition=d["workflow"].pop("transitions")),
            "workflow: unknown keys ['transition']",
            id="workflow",
        ),
    ],
)
def test_a_misspelt_workflow_key_is_refused(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    """A typo is refused, not read as "no requirement", "not final" or "no transitions"."""
    with pytest.raises(DefinitionError) as caught:
        ProcedureDefinition.from_dict(changed(change))

    assert str(caught.value) == message
