"""The consultation assistant's tables: knowledge base, scenarios, conversations and LINE."""

from madoguchi.consultation.models.conversations import (
    Channel,
    Conversation,
    ConversationState,
    Message,
    Outcome,
    Sender,
)
from madoguchi.consultation.models.index_builds import IndexBuild, IndexBuildState
from madoguchi.consultation.models.knowledge import (
    EmbeddingCache,
    FaqEntry,
    KnowledgeBase,
    Scenario,
    SynonymGroup,
    TermCache,
)
from madoguchi.consultation.models.line import LineChannel, LineWebhookEvent

__all__ = [
    "Channel",
    "Conversation",
    "ConversationState",
    "EmbeddingCache",
    "FaqEntry",
    "IndexBuild",
    "IndexBuildState",
    "KnowledgeBase",
    "LineChannel",
    "LineWebhookEvent",
    "Message",
    "Outcome",
    "Scenario",
    "Sender",
    "SynonymGroup",
    "TermCache",
]
