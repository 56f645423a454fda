"""Fixtures of the data-linkage API tests: 神戸市 with two submitted 特別定額給付金."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from madoguchi.procedures.models import Application
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import kyufukin_submit, publish_catalogue


@pytest.fixture
def kobe_applications(tenant_a: Tenant) -> list[Application]:
    version = publish_catalogue(tenant_a.municipality, "teigaku-kyufukin", "welfare")
    return [kyufukin_submit(version).application for _ in range(3)]


@dataclass
class Receiver:
    url: str
    answers: list[int]  # status codes to give, in order; 200 once they run out
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """A webhook receiver on loopback, answering with ``answers`` (then 200)."""
    state = Receiver(url="", answers=[])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers.items()), body))
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as state:
        yield state


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    """The receiver of another municipality's client."""
    with receiving() as state:
        yield state
