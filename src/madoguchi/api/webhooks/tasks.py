"""The webhook delivery task: one attempt, then itself again at the backoff time if needed."""

from __future__ import annotations

from django_tasks import task

from madoguchi.api.webhooks.services import webhook_attempt


@task()
def webhook_deliver(delivery_id: int) -> None:
    result = webhook_attempt(delivery_id=delivery_id)
    if result.retry_at is not None:
        webhook_deliver.using(run_after=result.retry_at).enqueue(delivery_id=delivery_id)
