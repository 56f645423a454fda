"""Scenarios: checked at load with precise messages, and walked to every outcome."""

from __future__ import annotations

import pytest
import yaml

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.assistant import assistant_handle_action, conversation_open
from madoguchi.consultation.errors import ConsultationError
from madoguchi.consultation.models import Channel, Outcome, Scenario
from madoguchi.consultation.scenarios import (
    BUNDLED_SCENARIOS,
    ScenarioError,
    bundled_scenario,
    scenario_parse,
    scenario_parse_yaml,
)
from madoguchi.consultation.services import scenario_load
from tests.isolation import Tenant

MINIMAL = {
    "code": "test",
    "title_ja": "テスト",
    "start": "first",
    "steps": {"first": {"text_ja": "どちら？", "options": [{"label_ja": "A", "next": "done"}]}},
    "outcomes": {"done": {"text_ja": "おわり"}},
}


def test_the_bundled_scenarios_are_valid() -> None:
    for code in BUNDLED_SCENARIOS:
        definition, _data = scenario_parse_yaml(bundled_scenario(code))
        assert definition.code == code


def test_a_dangling_step_is_refused_with_a_precise_message() -> None:
    data = yaml.safe_load(bundled_scenario("fever-triage"))
    data["steps"]["fever"]["options"][1]["next"] = "no-such-step"
    with pytest.raises(ScenarioError) as caught:
        scenario_parse(data)
    assert str(caught.value) == (
        "scenario 'fever-triage', step 'fever', option 2 ('ない') leads to 'no-such-step',"
        " which is neither a step nor an outcome of this scenario (steps: danger, fever, risk;"
        " outcomes: call-119, clinic-soon, family-doctor, no-fever)"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": "nowhere"}, "scenario 'test': 'start' names 'nowhere', which is not a step"),
        (
            {"outcomes": {"done": {"text_ja": "おわり"}, "orphan": {"text_ja": "孤立"}}},
            "scenario 'test': 'orphan' cannot be reached from 'first'",
        ),
        (
            {
                "steps": {
                    "first": {"text_ja": "?", "options": [{"label_ja": "A", "next": "loop"}]},
                    "loop": {"text_ja": "?", "options": [{"label_ja": "B", "next": "first"}]},
                },
                "outcomes": {"done": {"text_ja": "x"}},
            },
            "scenario 'test': 'done' cannot be reached from 'first'",
        ),
        (
            {"steps": {"first": {"text_ja": "?", "options": []}}},
            "scenario 'test', step 'first': 'options' must list 1 to 10 buttons",
        ),
        ({"title_ja": ""}, "scenario 'test': 'title_ja' is missing or not text"),
    ],
)
def test_broken_scenarios_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_parse({**MINIMAL, **change})
    assert str(caught.value) == message


def test_a_loop_without_an_outcome_is_refused() -> None:
    data = {
        **MINIMAL,
        "steps": {
            "first": {
                "text_ja": "?",
                "options": [{"label_ja": "A", "next": "done"}, {"label_ja": "B", "next": "loop"}],
            },
            "loop": {"text_ja": "?", "options": [{"label_ja": "C", "next": "loop"}]},
        },
    }
    with pytest.raises(ScenarioError, match="step 'loop' never leads to an outcome"):
        scenario_parse(data)


def test_loading_a_broken_file_stores_nothing(tenant_a: Tenant) -> None:
    with pytest.raises(ConsultationError, match="not valid YAML"):
        scenario_load(
            municipality=tenant_a.municipality,
            yaml_text="code: [unclosed",
            actor=AuditActor(label="test"),
        )
    assert not Scenario.objects.exists()


FEVER_PATHS = {
    "call-119": (["当てはまる"], "119番に電話"),
    "clinic-soon": (["当てはまらない", "ある", "当てはまる"], "重症化しやすい"),
    "family-doctor": (["当てはまらない", "ある", "当てはまらない"], "かかりつけ医"),
    "no-fever": (["当てはまらない", "ない"], "急いで受診する必要は少ない"),
}


@pytest.mark.parametrize("outcome", sorted(FEVER_PATHS))
def test_walking_the_fever_triage_reaches_each_outcome(kobe_kb: Tenant, outcome: str) -> None:
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    reply = assistant_handle_action(conversation=conversation, payload="scenario:fever-triage")
    assert reply.text.startswith("次のような症状はありますか。")
    labels, expected_text = FEVER_PATHS[outcome]
    for label in labels:
        [action] = [a for a in reply.actions if a.label == label]
        reply = assistant_handle_action(conversation=conversation, payload=action.payload)
    assert reply.outcome == Outcome.SCENARIO
    assert expected_text in reply.text
    conversation.refresh_from_db()
    assert (conversation.scenario_code, conversation.scenario_step) == ("fever-triage", outcome)
    if outcome == "call-119":
        assert [(link.label, link.url) for link in reply.links] == [("119番に電話する", "tel:119")]
    if outcome == "family-doctor":
        assert ("#7119に電話する", "tel:%237119") in [(k.label, k.url) for k in reply.links]
        assert "相談先：健康局 保健所" in reply.text
    if outcome in {"clinic-soon", "no-fever"}:
        assert "handover" in [a.payload for a in reply.actions]


def test_the_bulky_waste_guide_ends_in_the_online_application(kobe_kb: Tenant) -> None:
    from madoguchi.procedures.catalogue import catalogue_definition
    from madoguchi.procedures.services import procedure_publish

    procedure_publish(
        municipality=kobe_kb.municipality,
        data={**catalogue_definition("sodai-gomi"), "department": "citizens"},
        actor=AuditActor(label="test"),
    )
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    assistant_handle_action(conversation=conversation, payload="scenario:sodai-gomi")
    assistant_handle_action(conversation=conversation, payload="step:sodai-gomi:size")
    reply = assistant_handle_action(conversation=conversation, payload="step:sodai-gomi:apply")
    assert ("オンラインで申し込む", "/kobe/procedures/sodai-gomi/") in [
        (link.label, link.url) for link in reply.links
    ]


@pytest.mark.parametrize(
    "payload",
    ["step:fever-triage:nowhere", "scenario:unknown", "step:", "faq:999999999999999999999", "??"],
)
def test_unknown_buttons_get_the_menu_again(kobe_kb: Tenant, payload: str) -> None:
    conversation = conversation_open(municipality=kobe_kb.municipality, channel=Channel.WEB)
    reply = assistant_handle_action(conversation=conversation, payload=payload)
    assert reply.outcome == Outcome.REFUSED
    assert "scenario:fever-triage" in [a.payload for a in reply.actions]
