"""Effects that happen once although the task carrying them may run again.

A task runs again when its worker died in the middle (see ``madoguchi.core.taskrecovery``).
``effect_once`` records under a unique key that the effect was done, and skips it when the
record exists. Two windows remain for a duplicate, both narrow: the process dying after the
mail server accepted the message and before the record is written, and two runs at once,
which happens only when a live task outlasts ``TASK_LEASE_SECONDS``. The alternative, a claim
taken before the effect, would lose the effect whenever its claimant died, which is worse for
a resident waiting for a message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from madoguchi.core.models import EffectOnce

__all__ = ["effect_once"]


def effect_once(key: str, effect: Callable[[], bool]) -> bool | None:
    """Run ``effect`` unless it already succeeded under ``key``.

    ``effect`` returns whether it succeeded; only a success is recorded, so a failure may be
    tried again. Returns the effect's result, or None when it had been done before.
    """
    if EffectOnce.objects.filter(key=key).exists():
        return None
    succeeded = effect()
    if succeeded:
        try:
            with transaction.atomic():
                EffectOnce.objects.create(key=key, done_at=timezone.now())
        except IntegrityError:
            pass  # a concurrent run recorded it first
    return succeeded
