"""``madoguchi consultation purge``: conversations past the retention period go, with counts."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor
from madoguchi.consultation.models import (
    Channel,
    Conversation,
    ConversationState,
    Message,
    Sender,
)
from madoguchi.consultation.retention import conversation_purge
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant, snapshot


def conversation(
    municipality: Municipality,
    *,
    days_ago: float,
    state: ConversationState = ConversationState.BOT,
    messages: int = 2,
) -> Conversation:
    """A conversation whose last message is ``days_ago`` days old."""
    made = Conversation.objects.create(municipality=municipality, channel=Channel.WEB, state=state)
    for number in range(messages):
        Message.objects.create(
            conversation=made,
            municipality=municipality,
            sender=Sender.RESIDENT if number % 2 == 0 else Sender.ASSISTANT,
            text=f"住民票の写しについて（{number}）",
        )
    when = timezone.now() - datetime.timedelta(days=days_ago)
    Conversation.objects.filter(pk=made.pk).update(last_message_at=when, created_at=when)
    Message.objects.filter(conversation=made).update(created_at=when)
    return made


def purge(*args: str) -> str:
    out = StringIO()
    call_command("consultation", "purge", *args, stdout=out)
    return out.getvalue()


def purge_events() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (e.chain, e.actor_label, e.data)
        for e in AuditEntry.objects.filter(action="consultation.purge").order_by("chain")
    ]


def test_old_closed_conversations_go_and_recent_and_open_ones_stay(
    tenant_a: Tenant, tenant_b: Tenant, settings: Any
) -> None:
    settings.CONSULTATION_RETENTION_DAYS = 365
    kobe, sayo = tenant_a.municipality, tenant_b.municipality
    old_kobe = [
        conversation(kobe, days_ago=400),
        conversation(kobe, days_ago=366, state=ConversationState.CLOSED, messages=3),
        conversation(kobe, days_ago=1000, messages=0),
    ]
    old_sayo = [conversation(sayo, days_ago=500, state=ConversationState.CLOSED)]
    kept = [
        conversation(kobe, days_ago=364),
        conversation(kobe, days_ago=10, state=ConversationState.CLOSED),
        # Still open in a staff inbox, however old: a person has yet to finish it.
        conversation(kobe, days_ago=800, state=ConversationState.WAITING),
        conversation(sayo, days_ago=400, state=ConversationState.ANSWERED),
        conversation(sayo, days_ago=1),
    ]

    output = purge()

    assert output.splitlines() == [
        "kobe: deleted 3 conversation(s), 5 message(s)",
        "sayo: deleted 1 conversation(s), 2 message(s)",
        "deleted 4 conversation(s) with no message in the last 365 day(s)",
    ]
    assert set(Conversation.objects.values_list("pk", flat=True)) == {c.pk for c in kept}
    assert not Message.objects.filter(conversation_id__in=[c.pk for c in old_kobe + old_sayo])
    assert Message.objects.count() == 2 * len(kept)
    events = purge_events()
    assert [(chain, actor) for chain, actor, _data in events] == [
        (kobe.code, "cli"),
        (sayo.code, "cli"),
    ]
    assert [
        {k: v for k, v in data.items() if k != "last_message_before"} for _c, _a, data in events
    ] == [
        {"conversations": 3, "messages": 5, "retention_days": 365},
        {"conversations": 1, "messages": 2, "retention_days": 365},
    ]
    # The audit log holds counts, never what the residents wrote.
    assert all("住民票" not in str(data) for _c, _a, data in events)

    assert purge().splitlines() == [
        "deleted 0 conversation(s) with no message in the last 365 day(s)"
    ]
    assert len(purge_events()) == 2  # nothing deleted, nothing recorded


def test_a_dry_run_counts_and_deletes_nothing(tenant_a: Tenant, settings: Any) -> None:
    settings.CONSULTATION_RETENTION_DAYS = 30
    kobe = tenant_a.municipality
    conversation(kobe, days_ago=31, messages=4)
    conversation(kobe, days_ago=29)
    before = snapshot(Conversation.objects.all()), snapshot(Message.objects.all())

    output = purge("--dry-run")

    assert output.splitlines() == [
        "kobe: would delete 1 conversation(s), 4 message(s)",
        "would delete 1 conversation(s) with no message in the last 30 day(s)",
    ]
    assert (snapshot(Conversation.objects.all()), snapshot(Message.objects.all())) == before
    assert purge_events() == []


def test_the_retention_period_is_counted_from_the_last_message(tenant_a: Tenant) -> None:
    """A conversation started long ago but written in recently stays."""
    kobe = tenant_a.municipality
    old = conversation(kobe, days_ago=500)
    Conversation.objects.filter(pk=old.pk).update(
        last_message_at=timezone.now() - datetime.timedelta(days=5)
    )
    now = timezone.now()
    counts = conversation_purge(retention_days=365, actor=AuditActor(label="test"), now=now)
    assert counts == []
    assert Conversation.objects.filter(pk=old.pk).exists()
    counts = conversation_purge(
        retention_days=1,
        actor=AuditActor(label="test"),
        now=now,
    )
    assert [(c.municipality.slug, c.conversations, c.messages) for c in counts] == [("kobe", 1, 2)]
