"""Messaging: topics and areas, subscribers, templates, sends and their delivery log."""

from madoguchi.messaging.models.deliveries import (
    BatchState,
    Delivery,
    DeliveryBatch,
    DeliveryState,
)
from madoguchi.messaging.models.notices import Notice, NoticeState, NoticeTemplate
from madoguchi.messaging.models.sends import Send, SendState, Template
from madoguchi.messaging.models.subscriptions import (
    Area,
    Channel,
    MessagingSettings,
    Subscriber,
    Topic,
)

__all__ = [
    "Area",
    "BatchState",
    "Channel",
    "Delivery",
    "DeliveryBatch",
    "DeliveryState",
    "MessagingSettings",
    "Notice",
    "NoticeState",
    "NoticeTemplate",
    "Send",
    "SendState",
    "Subscriber",
    "Template",
    "Topic",
]
