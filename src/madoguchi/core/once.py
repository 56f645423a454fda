"""Effects that happen once although the task carrying them may run again.

A task runs again when its worker died in the middle (see ``madoguchi.core.taskrecovery``).
``effect_once`` records, under a unique key, that the effect was done, and lets only one run
at a time try it: the run claims the key for ``lease_seconds`` first, so that a second run
started meanwhile does nothing. If the claimant dies before it could record success, the
claim runs out and a later run tries again. That leaves one window for a duplicate: the
process dying after the mail server accepted the message and before ``done_at`` is written.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from madoguchi.core.models import EffectOnce

__all__ = ["effect_once"]


def effect_once(key: str, effect: Callable[[], bool], *, lease_seconds: int = 300) -> bool | None:
    """Run ``effect`` unless it already succeeded under ``key`` or another run holds the claim.

    ``effect`` returns whether it succeeded; a failure leaves the key free for a retry.
    Returns the effect's result, or None when it was not run.
    """
    now = timezone.now()
    if not EffectOnce.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                EffectOnce.objects.create(key=key)
        except IntegrityError:
            pass  # created by a concurrent run; the claim below decides
    claimed = (
        EffectOnce.objects.filter(key=key, done_at__isnull=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + datetime.timedelta(seconds=lease_seconds))
    )
    if not claimed:
        return None
    try:
        succeeded = effect()
    except BaseException:
        EffectOnce.objects.filter(key=key).update(claimed_until=None)
        raise
    if succeeded:
        EffectOnce.objects.filter(key=key).update(done_at=timezone.now(), claimed_until=None)
    else:
        EffectOnce.objects.filter(key=key).update(claimed_until=None)
    return succeeded
