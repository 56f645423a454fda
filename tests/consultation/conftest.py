"""Fixtures of the consultation tests: a demo knowledge base, a recording LINE API server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from madoguchi.consultation.demo import consultation_demo_load
from madoguchi.consultation.retrieval.embedding import query_vectors
from madoguchi.consultation.retrieval.store import index_store
from tests.isolation import Tenant


@pytest.fixture(autouse=True)
def _fresh_indexes() -> Iterator[None]:
    """Indexes are keyed by municipality id and version, which repeat between tests; cached
    question vectors would let one test's questions skip another's embedder."""
    index_store.clear(vectors=False)
    query_vectors.clear()
    yield
    index_store.clear(vectors=False)
    query_vectors.clear()


@pytest.fixture
def kobe_kb(tenant_a: Tenant) -> Tenant:
    """神戸市 (tenant_a) with the demo knowledge base, synonyms and scenarios."""
    consultation_demo_load(warm_index=False)
    return tenant_a


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class LineServer:
    """A local HTTP server standing in for api.line.me; it records every request."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    status: int = 200

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.path == path]


@pytest.fixture
def line_server() -> Iterator[LineServer]:
    server_state = LineServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            server_state.requests.append(
                Recorded(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw or b"null"),
                )
            )
            # What the Messaging API answers to a reply or a push.
            body = (
                b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b"}]}'
                if server_state.status == 200
                else b'{"message":"The request body has 1 error(s)"}'
            )
            self.send_response(server_state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    with override_settings(LINE_API_BASE_URL=server_state.url):
        yield server_state
    httpd.shutdown()
    httpd.server_close()
