"""The API app's models live in their own modules; Django looks for them here."""

from madoguchi.api.clients.models import ApiAccessToken, ApiClient, ApiClientSecret
from madoguchi.api.linkage.models import ClientTransferExport
from madoguchi.api.webhooks.models import WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiAccessToken",
    "ApiClient",
    "ApiClientSecret",
    "ClientTransferExport",
    "WebhookDelivery",
    "WebhookSubscription",
]
