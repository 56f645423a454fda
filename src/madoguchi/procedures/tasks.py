"""Background tasks of the procedures app (django-tasks, database queue)."""

from __future__ import annotations

from django.conf import settings
from django_tasks import task

from madoguchi.core.once import effect_once
from madoguchi.procedures import notify
from madoguchi.procedures.models import Application, StateChange
from madoguchi.procedures.selectors import definition_of


@task()
def notify_state_change(*, application_id: int, state_change_id: int) -> bool:
    """E-mail the resident that their application moved (no personal data in the message).

    Sent once per state change, even when the task runs again after its worker died.
    Returns False when there was nothing to send, it was sent before, or the mail server
    refused; the worker records the result.
    """
    application = (
        Application.objects.select_related("municipality", "version")
        .filter(pk=application_id)
        .first()
    )
    change = StateChange.objects.filter(pk=state_change_id, application_id=application_id).first()
    if application is None or change is None or not application.email:
        return False
    definition = definition_of(application.version)
    state = definition.states.get(change.to_state)
    municipality = application.municipality
    email = application.email
    english = application.language == "en"
    sent = effect_once(
        f"procedures.state-change-mail:{change.pk}",
        lambda: notify.send_state_change(
            municipality=municipality,
            email=email,
            procedure_name=(english and definition.name_en) or definition.name_ja,
            receipt_number=application.receipt_number,
            state_label=(
                ((english and state.label_en) or state.label_ja) if state else change.to_state
            ),
            resident_action=(
                ((english and state.resident_action_en) or state.resident_action_ja)
                if state
                else ""
            ),
            public_message=change.public_message,
            status_url=(
                f"{settings.MADOGUCHI_SITE_URL}/{municipality.slug}/status/"
                f"?receipt={application.receipt_number}"
            ),
            language=application.language,
            dedupe_key=f"procedures.state-change:{change.pk}",
        ),
    )
    return bool(sent)
