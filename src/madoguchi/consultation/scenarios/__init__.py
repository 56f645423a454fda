"""Guided scenarios declared in YAML, validated when loaded and then only read.

A scenario has steps (a question with buttons) and outcomes (an answer, with numbers to call,
the online application of a procedure, or the offer of a person). Every button leads to a step
or an outcome of the same scenario; a file that names anything else, or that lets a step be
unreachable or loop forever, is refused at load with a message naming the place.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "BUNDLED_SCENARIOS",
    "ScenarioDefinition",
    "ScenarioError",
    "bundled_scenario",
    "scenario_parse",
    "scenario_parse_yaml",
]

BUNDLED_SCENARIOS = ("fever-triage", "sodai-gomi")
_MAX_OPTIONS = 10


class ScenarioError(ValueError):
    """The scenario cannot be used; ``str()`` names the place and the fix."""


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    next: str


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    text: str
    detail: str
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class Call:
    label: str
    number: str


@dataclass(frozen=True, slots=True)
class OutcomeSpec:
    key: str
    text: str
    calls: tuple[Call, ...]
    procedure: str
    contact: bool
    handover: bool


@dataclass(frozen=True, slots=True)
class ScenarioDefinition:
    code: str
    title: str
    department: str
    keywords: tuple[str, ...]
    start: str
    steps: dict[str, Step]
    outcomes: dict[str, OutcomeSpec]

    def node(self, key: str) -> Step | OutcomeSpec | None:
        return self.steps.get(key) or self.outcomes.get(key)


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str | int | float) or (required and not str(value).strip()):
        raise ScenarioError(f"{where}: '{key}' is missing or not text")
    return str(value).strip()


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def scenario_parse(data: Any) -> ScenarioDefinition:
    """A checked definition from parsed YAML, or ScenarioError naming the first problem."""
    root = _mapping(data, "the scenario")
    code = _text(root, "code", "the scenario")
    where = f"scenario '{code}'"
    title = _text(root, "title_ja", where)
    raw_steps = _mapping(root.get("steps"), f"{where}: 'steps'")
    raw_outcomes = _mapping(root.get("outcomes"), f"{where}: 'outcomes'")
    if not raw_steps or not raw_outcomes:
        raise ScenarioError(f"{where}: needs at least one step and one outcome")
    both = set(raw_steps) & set(raw_outcomes)
    if both:
        raise ScenarioError(f"{where}: '{sorted(both)[0]}' is both a step and an outcome")
    targets = set(raw_steps) | set(raw_outcomes)
    steps: dict[str, Step] = {}
    for key, raw in raw_steps.items():
        step_where = f"{where}, step '{key}'"
        step = _mapping(raw, step_where)
        options_raw = step.get("options")
        if not isinstance(options_raw, list) or not 1 <= len(options_raw) <= _MAX_OPTIONS:
            raise ScenarioError(f"{step_where}: 'options' must list 1 to {_MAX_OPTIONS} buttons")
        options = []
        for number, option_raw in enumerate(options_raw, start=1):
            option_where = f"{step_where}, option {number}"
            option = _mapping(option_raw, option_where)
            label = _text(option, "label_ja", option_where)
            target = _text(option, "next", option_where)
            if target not in targets:
                raise ScenarioError(
                    f"{option_where} ('{label}') leads to '{target}', which is neither a step"
                    f" nor an outcome of this scenario (steps: {', '.join(sorted(raw_steps))};"
                    f" outcomes: {', '.join(sorted(raw_outcomes))})"
                )
            options.append(Option(label, target))
        steps[key] = Step(
            key,
            _text(step, "text_ja", step_where),
            _text(step, "detail_ja", step_where, required=False),
            tuple(options),
        )
    outcomes: dict[str, OutcomeSpec] = {}
    for key, raw in raw_outcomes.items():
        outcome_where = f"{where}, outcome '{key}'"
        outcome = _mapping(raw, outcome_where)
        calls_raw = outcome.get("call", [])
        if not isinstance(calls_raw, list):
            raise ScenarioError(f"{outcome_where}: 'call' must be a list")
        calls = tuple(
            Call(_text(c, "label_ja", outcome_where), _text(c, "number", outcome_where))
            for c in (_mapping(c, f"{outcome_where}, call") for c in calls_raw)
        )
        outcomes[key] = OutcomeSpec(
            key=key,
            text=_text(outcome, "text_ja", outcome_where),
            calls=calls,
            procedure=_text(outcome, "procedure", outcome_where, required=False),
            contact=bool(outcome.get("contact", False)),
            handover=bool(outcome.get("handover", False)),
        )
    start = _text(root, "start", where)
    if start not in steps:
        raise ScenarioError(f"{where}: 'start' names '{start}', which is not a step")
    _check_reachable(where, start, steps, outcomes)
    keywords = root.get("keywords", [])
    if not isinstance(keywords, list):
        raise ScenarioError(f"{where}: 'keywords' must be a list")
    return ScenarioDefinition(
        code=code,
        title=title,
        department=_text(root, "department", where, required=False),
        keywords=tuple(str(k) for k in keywords if str(k).strip()),
        start=start,
        steps=steps,
        outcomes=outcomes,
    )


def _check_reachable(
    where: str, start: str, steps: dict[str, Step], outcomes: dict[str, OutcomeSpec]
) -> None:
    seen: set[str] = set()
    pending = [start]
    while pending:
        key = pending.pop()
        if key in seen:
            continue
        seen.add(key)
        if key in steps:
            pending.extend(option.next for option in steps[key].options)
    unreachable = sorted((set(steps) | set(outcomes)) - seen)
    if unreachable:
        raise ScenarioError(f"{where}: '{unreachable[0]}' cannot be reached from '{start}'")
    # Every step must be able to end in an outcome, or a resident could click forever.
    ends: set[str] = set(outcomes)
    changed = True
    while changed:
        changed = False
        for key, step in steps.items():
            if key not in ends and any(option.next in ends for option in step.options):
                ends.add(key)
                changed = True
    stuck = sorted(set(steps) - ends)
    if stuck:
        raise ScenarioError(f"{where}: step '{stuck[0]}' never leads to an outcome")


def scenario_parse_yaml(text: str) -> tuple[ScenarioDefinition, dict[str, Any]]:
    """Parse and check YAML text; returns the definition and the data to store."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"the file is not valid YAML: {exc}") from None
    definition = scenario_parse(data)
    assert isinstance(data, dict)
    return definition, data


def scenario_digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def bundled_scenario(code: str) -> str:
    """The YAML text of a scenario shipped with the package."""
    return resources.files(__name__).joinpath(f"{code}.yaml").read_text("utf-8")
