"""Fixtures of the messaging tests: a local Messaging API server, topics, areas, subscribers.

The Messaging API server answers multicast and push like api.line.me, including the
X-Line-Retry-Key rule: a request whose key was accepted before gets 409 and delivers nothing
again. Tests script answers (429 with Retry-After, 500) and can make it stall on a request.
"""

from __future__ import annotations

import datetime
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from madoguchi.audit.services import AuditActor
from madoguchi.consultation.services import line_channel_save
from madoguchi.messaging import services
from madoguchi.messaging.models import Area, Channel, Subscriber, Topic
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant
from tests.procedures.test_submit import smtp_server

__all__ = ["smtp_server"]

ACTOR = AuditActor(label="test")
MULTICAST = "/v2/bot/message/multicast"
PUSH = "/v2/bot/message/push"
SENT = b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b"}]}'


@dataclass
class Call:
    path: str
    retry_key: str
    to: list[str]
    text: str
    status: int


@dataclass
class Raw:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class MessagingApi:
    """State of the local Messaging API server."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)  # multicast and push
    raw: list[Raw] = field(default_factory=list)  # every request, replies too
    # Answers for the next send requests, in order: (status, headers); then 200.
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    accepted_keys: set[str] = field(default_factory=set)
    stall_on: int | None = None  # the n-th send request (1-based) is accepted, then hangs
    stalled: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[str]:
        """Every user id that received a message (accepted requests only)."""
        return [to for call in self.calls if call.status == 200 for to in call.to]


@pytest.fixture
def line_api() -> Iterator[MessagingApi]:
    state = MessagingApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            is_json = self.headers.get("Content-Type", "").startswith("application/json")
            body = json.loads(data or b"null") if is_json else data
            state.raw.append(Raw(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if self.path == "/v2/bot/richmenu":
                self._answer(200, {}, b'{"richMenuId":"richmenu-88c05ef6921ae53f8b58a25f3a65faf7"}')
                return
            if self.path not in {MULTICAST, PUSH}:
                self._answer(200, {}, SENT if "reply" in self.path else b"{}")
                return
            key = self.headers.get("X-Line-Retry-Key", "")
            to = body["to"] if isinstance(body["to"], list) else [body["to"]]
            text = body["messages"][0]["text"]
            stall = False
            with state.lock:
                if key and key in state.accepted_keys:
                    status, headers = 409, {"x-line-accepted-request-id": "accepted"}
                elif state.script:
                    status, headers = state.script.pop(0)
                else:
                    status, headers = 200, {}
                if status == 200:
                    state.accepted_keys.add(key)
                state.calls.append(Call(self.path, key, to, text, status))
                stall = state.stall_on == len(state.calls)
            if stall:  # accepted, but the answer never reaches the worker
                state.stalled.set()
                state.release.wait(30)
                return
            self._answer(status, headers, SENT if status == 200 else b'{"message":"error"}')

        def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    with override_settings(LINE_API_BASE_URL=state.url, LINE_DATA_API_BASE_URL=state.url):
        yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def no_backoff(settings: Any) -> None:
    settings.MESSAGING_RETRY_BASE_SECONDS = 0


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """db_worker installs its own SIGINT/SIGTERM handlers; put the test runner's back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def run_worker() -> None:
    """The database task worker, until the queue holds nothing due."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def setup_city(municipality: Municipality, *, with_line: bool = True) -> dict[str, Any]:
    """Topics (防災 urgent), two areas, a LINE channel; no quiet hours, approval above 100,000.

    Without quiet hours the tests do not depend on the time of day they run at; the quiet-hours
    tests set them.
    """
    services.messaging_settings_save(
        municipality=municipality,
        quiet_start=datetime.time(0),
        quiet_end=datetime.time(0),
        approval_threshold=100_000,
        actor=ACTOR,
    )
    topics = {
        "kosodate": services.topic_save(
            municipality=municipality,
            code="kosodate",
            name="子育て",
            name_en="Childcare",
            actor=ACTOR,
        ),
        "bousai": services.topic_save(
            municipality=municipality,
            code="bousai",
            name="防災",
            name_en="Disaster",
            urgent=True,
            actor=ACTOR,
        ),
        "gomi": services.topic_save(
            municipality=municipality, code="gomi", name="ごみ", actor=ACTOR
        ),
    }
    areas = {
        "chuo": services.area_save(
            municipality=municipality, code="chuo", name="中央区", actor=ACTOR
        ),
        "nada": services.area_save(
            municipality=municipality, code="nada", name="灘区", actor=ACTOR
        ),
    }
    if with_line:
        line_channel_save(
            municipality=municipality,
            channel_secret="secret",
            access_token="token-" + municipality.slug,
            basic_id="",
            actor=ACTOR,
        )
    return {"topics": topics, "areas": areas}


def subscriber(
    municipality: Municipality,
    address: str,
    *,
    channel: str = Channel.EMAIL,
    topics: list[Topic],
    area: Area | None = None,
    language: str = "ja",
) -> Subscriber:
    """An active (confirmed) subscriber."""
    row = Subscriber.objects.create(
        municipality=municipality,
        channel=channel,
        address=address,
        language=language,
        area=area,
        token=f"tok-{municipality.slug}-{channel}-{address}"[:64],
        confirmed_at=timezone.now(),
    )
    row.topics.set(topics)
    return row


@pytest.fixture
def city(tenant_a: Tenant) -> Tenant:
    tenant_a.data.update(setup_city(tenant_a.municipality))
    return tenant_a
