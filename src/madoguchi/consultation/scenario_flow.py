"""Walking a resident through a stored scenario, one button at a time."""

from __future__ import annotations

from urllib.parse import quote

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from madoguchi.consultation.models import Conversation, Outcome, Scenario
from madoguchi.consultation.replies import Action, Link, Reply
from madoguchi.consultation.scenarios import (
    OutcomeSpec,
    ScenarioDefinition,
    ScenarioError,
    scenario_parse,
)
from madoguchi.consultation.selectors import scenario_get, scenario_list
from madoguchi.procedures.selectors import procedure_get_published
from madoguchi.tenants.contacts import contact_point_map, contact_text, contacts_substitute
from madoguchi.tenants.models import Municipality

__all__ = ["definition_for", "scenario_action_reply", "scenario_suggestions"]

_PARSED: dict[tuple[int, str], ScenarioDefinition] = {}


def definition_for(scenario: Scenario) -> ScenarioDefinition | None:
    """The checked definition of a stored scenario (parsed once per process)."""
    key = (scenario.pk, scenario.digest)
    definition = _PARSED.get(key)
    if definition is None:
        try:
            definition = scenario_parse(scenario.definition)
        except ScenarioError:
            return None
        if len(_PARSED) > 512:
            _PARSED.clear()
        _PARSED[key] = definition
    return definition


def scenario_suggestions(*, municipality: Municipality, text: str | None) -> list[Action]:
    """Buttons starting the scenarios whose keywords occur in ``text`` (all when None)."""
    actions = []
    for scenario in scenario_list(municipality=municipality):
        definition = definition_for(scenario)
        if definition is None:
            continue
        if text is None or any(k.lower() in text for k in definition.keywords):
            actions.append(Action(definition.title[:40], f"scenario:{scenario.code}"))
    return actions


def _outcome_reply(municipality: Municipality, scenario: Scenario, outcome: OutcomeSpec) -> Reply:
    links: list[Link] = [Link(c.label, "tel:" + quote(c.number, safe="+")) for c in outcome.calls]
    contacts = contact_point_map(municipality=municipality)
    lines = [contacts_substitute(outcome.text, municipality=municipality, contacts=contacts)]
    if outcome.contact and scenario.department is not None:
        department = scenario.department
        # The department's own contact point when the municipality has set one.
        point = next((c for c in contacts.values() if c.department_id == department.pk), None)
        if point is not None:
            contact = contact_text(point)
        else:
            contact = department.name + (f"（{department.phone}）" if department.phone else "")
        lines.append(_("相談先：%(contact)s") % {"contact": contact})
    if outcome.procedure:
        procedure = procedure_get_published(municipality=municipality, code=outcome.procedure)
        if procedure is not None:
            try:
                url = reverse(
                    "procedures:detail",
                    kwargs={"municipality_slug": municipality.slug, "code": procedure.code},
                )
            except NoReverseMatch:
                url = ""
            if url:
                links.append(Link(_("オンラインで申し込む"), url))
    actions = [Action(_("はじめに戻る"), "menu")]
    if outcome.handover:
        actions.insert(0, Action(_("担当者に相談する"), "handover"))
    return Reply("\n".join(lines), Outcome.SCENARIO, tuple(actions), tuple(links))


def scenario_action_reply(*, conversation: Conversation, kind: str, rest: str) -> Reply | None:
    """The step or outcome a ``scenario:<code>`` or ``step:<code>:<key>`` button leads to."""
    code, _sep, key = rest.partition(":")
    scenario = scenario_get(municipality=conversation.municipality, code=code)
    definition = definition_for(scenario) if scenario is not None else None
    if scenario is None or definition is None:
        return None
    if kind == "scenario":
        key = definition.start
    node = definition.node(key)
    if node is None:
        return None
    conversation.scenario_code, conversation.scenario_step = code, key
    conversation.save(update_fields=["scenario_code", "scenario_step"])
    if scenario.department is not None and conversation.department_id is None:
        conversation.department = scenario.department
        conversation.save(update_fields=["department"])
    if isinstance(node, OutcomeSpec):
        return _outcome_reply(conversation.municipality, scenario, node)
    text = node.text + (f"\n（{node.detail}）" if node.detail else "")
    text = contacts_substitute(text, municipality=conversation.municipality)
    actions = tuple(Action(o.label, f"step:{code}:{o.next}") for o in node.options)
    return Reply(text, Outcome.SCENARIO, actions)
