"""The web chat at /<slug>/chat/: a plain form that works without JavaScript.

Without JavaScript every button is a form: the page posts, then redirects back to itself
(post/redirect/get) and shows the conversation. With JavaScript (static js/chat.js) the same
forms are sent with fetch and the server returns the re-rendered conversation as HTML, which
the script swaps in; everything shown is rendered and escaped by the templates.

Posts are limited per client address and per conversation (``consultation.limits``); over the
limit the page or fragment answers 429 with Retry-After and keeps the typed question.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from madoguchi.consultation.assistant import (
    MAX_MESSAGE_CHARS,
    assistant_handle_action,
    assistant_handle_text,
    assistant_menu,
    conversation_open,
    question_problem,
)
from madoguchi.consultation.limits import chat_limit_web
from madoguchi.consultation.models import Channel, Conversation, ConversationState, Outcome, Sender
from madoguchi.consultation.replies import Action, Reply, reply_from_message
from madoguchi.consultation.selectors import conversation_get
from madoguchi.core.ratelimit import client_key
from madoguchi.tenants.http import municipality_view
from madoguchi.tenants.models import Municipality

__all__ = ["chat", "chat_continue", "continue_token"]

SESSION_KEY = "madoguchi_chat"
NOTICE_KEY = "madoguchi_chat_notice"
_CONTINUE_SALT = "madoguchi.consultation.continue"
_SHOWN_MESSAGES = 60


def _conversation(request: HttpRequest, municipality: Municipality) -> Conversation | None:
    ids = request.session.get(SESSION_KEY, {})
    conversation_id = ids.get(municipality.slug) if isinstance(ids, dict) else None
    if not conversation_id:
        return None
    return conversation_get(municipality=municipality, conversation_id=str(conversation_id))


def _remember(request: HttpRequest, municipality: Municipality, conversation: Conversation) -> None:
    ids = request.session.get(SESSION_KEY, {})
    ids = ids if isinstance(ids, dict) else {}
    ids[municipality.slug] = str(conversation.pk)
    request.session[SESSION_KEY] = ids


def continue_token(conversation: Conversation) -> str:
    """A signed token naming the conversation, for the link back that a resident keeps.

    It is not stored anywhere (nor shown to staff); it works until the conversation is purged
    (MADOGUCHI_CONSULTATION_RETENTION_DAYS) and only under the conversation's municipality.
    """
    return signing.dumps(
        {"m": conversation.municipality_id, "c": str(conversation.pk)}, salt=_CONTINUE_SALT
    )


def _continue_url(request: HttpRequest, conversation: Conversation) -> str:
    path = reverse(
        "consultation:continue",
        kwargs={
            "municipality_slug": conversation.municipality.slug,
            "token": continue_token(conversation),
        },
    )
    return request.build_absolute_uri(path)


def _conversation_of_token(municipality: Municipality, token: str) -> Conversation | None:
    try:
        data = signing.loads(
            token[:400],
            salt=_CONTINUE_SALT,
            max_age=settings.CONSULTATION_RETENTION_DAYS * 86400,
        )
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("m") != municipality.pk:
        return None
    return conversation_get(municipality=municipality, conversation_id=str(data.get("c", "")))


def _wants_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _context(
    request: HttpRequest,
    municipality: Municipality,
    conversation: Conversation | None,
    notice: Reply | None,
    question: str = "",
) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    if conversation is not None:
        messages = list(conversation.messages.order_by("-created_at", "-pk")[:_SHOWN_MESSAGES])
        messages.reverse()
        last_assistant = max((m.pk for m in messages if m.sender == Sender.ASSISTANT), default=None)
        for message in messages:
            reply = reply_from_message(message) if message.sender == Sender.ASSISTANT else None
            entries.append(
                {
                    "message": message,
                    "reply": reply,
                    "show_actions": message.pk == last_assistant and notice is None,
                }
            )
    waiting = conversation is not None and conversation.state in {
        ConversationState.WAITING,
        ConversationState.ANSWERED,
    }
    handed_over = conversation is not None and conversation.handover_at is not None
    return {
        "municipality": municipality,
        "continue_url": _continue_url(request, conversation)
        if conversation is not None and handed_over
        else "",
        "entries": entries,
        "notice": notice,
        "menu": assistant_menu(municipality=municipality) if not entries else None,
        "question": question,
        "max_chars": MAX_MESSAGE_CHARS,
        "waiting": waiting,
        "chat_url": reverse("consultation:chat", kwargs={"municipality_slug": municipality.slug}),
    }


def _notice_from_session(request: HttpRequest) -> Reply | None:
    data = request.session.pop(NOTICE_KEY, None)
    if not isinstance(data, dict):
        return None
    actions = tuple(Action(str(a[0]), str(a[1])) for a in data.get("actions", []))
    outcome = data.get("outcome", Outcome.REFUSED)
    outcome = Outcome(outcome) if outcome in Outcome.values else Outcome.REFUSED
    return Reply(str(data.get("text", "")), outcome, actions, stored=False)


def _respond(
    request: HttpRequest,
    municipality: Municipality,
    conversation: Conversation | None,
    notice: Reply | None,
    *,
    status: int = 200,
    question: str = "",
) -> HttpResponse:
    context = _context(request, municipality, conversation, notice, question)
    if _wants_fragment(request):
        html = render_to_string("consultation/_log.html", context, request=request)
        data: dict[str, Any] = {"html": html, "waiting": context["waiting"]}
        if status >= 400 and notice is not None:
            data["error"] = notice.text
        return JsonResponse(data, status=status)
    return render(request, "consultation/chat.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@municipality_view
def chat(request: HttpRequest, municipality: Municipality) -> HttpResponse:
    conversation = _conversation(request, municipality)
    if request.method != "POST":
        return _respond(request, municipality, conversation, _notice_from_session(request))
    action = request.POST.get("action", "ask")
    if action == "reset":
        request.session.pop(SESSION_KEY, None)
        return HttpResponseRedirect(reverse("consultation:chat", args=[municipality.slug]))
    question = request.POST.get("question", "")
    limited = chat_limit_web(client=client_key(request, "chat"), conversation=conversation)
    if limited is not None:
        # Refused before anything is stored; the page keeps what the resident typed.
        notice = Reply(limited.message, Outcome.REFUSED, stored=False)
        response = _respond(
            request, municipality, conversation, notice, status=429, question=question
        )
        response["Retry-After"] = str(limited.retry_after)
        return response
    problem = question_problem(question) if action == "ask" else None
    if problem is not None:
        # Refused before anything is stored: no conversation is opened for it.
        notice = Reply(problem, Outcome.REFUSED, stored=False)
        return _respond(request, municipality, conversation, notice, status=400, question=question)
    if conversation is None:
        conversation = conversation_open(municipality=municipality, channel=Channel.WEB)
        _remember(request, municipality, conversation)
    if action == "ask":
        reply = assistant_handle_text(
            conversation=conversation, text=question, client=client_key(request, "chat")
        )
    else:
        reply = assistant_handle_action(
            conversation=conversation, payload=request.POST.get("payload", "")
        )
    if not reply.stored:
        request.session[NOTICE_KEY] = {
            "text": reply.text,
            "outcome": str(reply.outcome),
            "actions": [[a.label, a.payload] for a in reply.actions],
        }
        if _wants_fragment(request):
            return _respond(request, municipality, conversation, _notice_from_session(request))
    if _wants_fragment(request):
        return _respond(request, municipality, conversation, None)
    url = reverse("consultation:chat", args=[municipality.slug])
    return HttpResponseRedirect(f"{url}#latest")


@never_cache
@require_http_methods(["GET", "HEAD"])
@municipality_view
def chat_continue(request: HttpRequest, municipality: Municipality, token: str) -> HttpResponse:
    """The link back to a handed-over conversation: opens it in this browser, then the chat."""
    conversation = _conversation_of_token(municipality, token)
    if conversation is None:
        return render(
            request,
            "consultation/continue_invalid.html",
            {
                "municipality": municipality,
                "chat_url": reverse("consultation:chat", args=[municipality.slug]),
            },
            status=404,
        )
    _remember(request, municipality, conversation)
    return HttpResponseRedirect(reverse("consultation:chat", args=[municipality.slug]))
