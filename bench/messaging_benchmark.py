"""Messaging: time to drain a send to 100,000 LINE and 10,000 e-mail subscribers.

    .venv/bin/python -m bench.messaging_benchmark [--line 100000] [--email 10000] [--workers 1 2]
        [--database-url postgres://...]   # an empty PostgreSQL database instead of SQLite

Runs on a fresh SQLite database in a temporary MADOGUCHI_DATA_DIR (never var/), against a local
HTTP server speaking the Messaging API (multicast, 500 user ids per call) and a local SMTP
server, both on 127.0.0.1 in this process. For each worker count, one send per channel is made
through ``send_create`` and ``send_dispatch`` (the delivery rows are written: timed apart), then
N forked worker processes run ``send_drain`` — the code a ``send_deliver`` task runs — until no
batch is left. Printed per phase (writing the delivery rows, draining): wall and CPU seconds
(the workers' CPU apart from the local servers'), rows written/s, LINE calls, deliveries/s over
the whole send, and a check that every subscriber got exactly one message. Goals (issue 16):
100,000 LINE <= 30 s, 10,000 e-mails <= 60 s with 2 workers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import socketserver
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __name__ == "__main__":
    os.environ.pop("DATABASE_URL", None)
    _early = argparse.ArgumentParser(add_help=False)
    _early.add_argument("--database-url", default="")
    if _url := _early.parse_known_args()[0].database_url:
        os.environ["DATABASE_URL"] = _url
    _DIR = tempfile.mkdtemp(prefix="madoguchi-bench-")
    os.environ.update(
        MADOGUCHI_DATA_DIR=_DIR,
        MADOGUCHI_ENV="development",
        MADOGUCHI_DEBUG="0",
        MADOGUCHI_LOG_LEVEL="WARNING",
        MADOGUCHI_EMAIL_BACKEND="smtp",
        MADOGUCHI_MESSAGING_RETRY_BASE_SECONDS="1",
    )

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
django.setup()

_SENT = b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b"}]}'


class LineState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[str] = []
        self.calls = 0


def line_server(state: LineState) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            to = body["to"] if isinstance(body["to"], list) else [body["to"]]
            with state.lock:
                state.received.extend(to)
                state.calls += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(_SENT)))
            self.end_headers()
            self.wfile.write(_SENT)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


class SmtpState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recipients: list[str] = []


def smtp_server(state: SmtpState) -> socketserver.ThreadingTCPServer:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, text: str) -> None:
            self.wfile.write(text.encode("ascii") + b"\r\n")

        def handle(self) -> None:
            self.reply("220 localhost bench SMTP")
            recipients: list[str] = []
            while line := self.rfile.readline():
                verb = line[:4].upper()
                if verb == b"EHLO":
                    self.reply("250-localhost")
                    self.reply("250 8BITMIME")
                elif verb == b"MAIL":
                    recipients = []
                    self.reply("250 OK")
                elif verb == b"RCPT":
                    recipients.append(line.decode().partition(":")[2].strip().strip("<>"))
                    self.reply("250 OK")
                elif verb == b"DATA":
                    self.reply("354 go ahead")
                    while self.rfile.readline() not in (b".\r\n", b""):
                        pass
                    with state.lock:
                        state.recipients.extend(recipients)
                    self.reply("250 OK queued")
                elif verb == b"QUIT":
                    self.reply("221 Bye")
                    return
                else:
                    self.reply("250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


def _drain(send_id: int) -> None:
    from django.db import connections

    connections.close_all()
    from madoguchi.messaging.delivery import send_drain

    if os.environ.get("MESSAGING_BENCH_PROFILE"):
        import cProfile

        out = Path(tempfile.gettempdir()) / f"drain-{os.getpid()}.prof"
        cProfile.runctx("send_drain(send_id=send_id)", globals(), locals(), str(out))
    else:
        send_drain(send_id=send_id)


def prepare(line: int, email: int) -> tuple[Any, Any, Any]:
    from django.core.management import call_command
    from django.utils import timezone

    from madoguchi.audit.services import AuditActor
    from madoguchi.consultation.services import line_channel_save
    from madoguchi.messaging import services
    from madoguchi.messaging.models import Channel, Subscriber
    from madoguchi.tenants.services import municipalities_load

    call_command("migrate", interactive=False, verbosity=0)
    actor = AuditActor(label="bench")
    [city] = municipalities_load(codes=["281000"], activate=True, actor=actor)
    services.messaging_settings_save(
        municipality=city,
        quiet_start=__import__("datetime").time(0),
        quiet_end=__import__("datetime").time(0),
        approval_threshold=10_000_000,
        actor=actor,
    )
    line_topic = services.topic_save(municipality=city, code="bousai", name="防災", actor=actor)
    mail_topic = services.topic_save(municipality=city, code="gomi", name="ごみ", actor=actor)
    line_channel_save(
        municipality=city,
        channel_secret="bench-secret",  # noqa: S106 - a local server's, nothing real
        access_token="bench-token",  # noqa: S106
        basic_id="",
        actor=actor,
    )
    now = timezone.now()
    rows = [
        Subscriber(
            municipality=city,
            channel=Channel.LINE,
            address=f"U{n:032x}",
            token=f"l{n:042d}",  # as long as a real one (secrets.token_urlsafe(32))
            confirmed_at=now,
        )
        for n in range(line)
    ] + [
        Subscriber(
            municipality=city,
            channel=Channel.EMAIL,
            address=f"r{n}@example.jp",
            token=f"e{n:042d}",
            confirmed_at=now,
        )
        for n in range(email)
    ]
    Subscriber.objects.bulk_create(rows, batch_size=5000)
    through = Subscriber.topics.through
    links = [
        through(
            subscriber_id=s.pk, topic_id=line_topic.pk if s.channel == "line" else mail_topic.pk
        )
        for s in Subscriber.objects.only("pk", "channel")
    ]
    through.objects.bulk_create(links, batch_size=5000)
    template_line = services.template_save(
        municipality=city,
        name="防災",
        topic=line_topic,
        subject_ja="避難情報",
        body_ja="{municipality}：避難所を開設しました。",
        actor=actor,
    )
    template_mail = services.template_save(
        municipality=city,
        name="ごみ",
        topic=mail_topic,
        subject_ja="収集日の変更",
        body_ja="{municipality}：年末年始の収集日が変わります。",
        actor=actor,
    )
    return city, template_line, template_mail


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(
    city: Any,
    template: Any,
    workers: int,
    count: int,
    received: list[str],
    line_state: LineState,
) -> None:
    from django.db import connections

    from madoguchi.audit.services import AuditActor
    from madoguchi.messaging import delivery, services
    from madoguchi.messaging.models import Delivery

    received.clear()
    calls_before = line_state.calls
    send = services.send_create(
        municipality=city,
        template=template,
        topics=[template.topic],
        areas=[],
        languages=["ja"],
        scheduled_at=None,
        actor=AuditActor(label="bench"),
    )
    started, cpu = time.perf_counter(), time.process_time()
    if os.environ.get("MESSAGING_BENCH_PROFILE"):
        import cProfile

        out = Path(tempfile.gettempdir()) / f"dispatch-{send.pk}.prof"
        cProfile.runctx("delivery.send_dispatch(send_id=send.pk)", globals(), locals(), str(out))
    else:
        delivery.send_dispatch(send_id=send.pk)
    made, made_cpu = time.perf_counter() - started, time.process_time() - cpu
    connections.close_all()
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_drain, args=(send.pk,)) for _ in range(workers)]
    started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    drained = time.perf_counter() - started
    # The workers' CPU (collected when they were joined) and this process's: the local servers.
    drained_cpu, servers_cpu = _children_cpu() - children, time.process_time() - cpu
    sent = Delivery.objects.filter(send=send, state="sent").count()
    exact = len(received) == len(set(received)) == count
    channel = (template.topic.code == "bousai" and "LINE") or "e-mail"
    total = made + drained
    print(
        f"{channel:7} {count:>7,} recipients, {workers} worker(s): "
        f"rows written in {made:5.1f} s wall / {made_cpu:5.1f} s CPU "
        f"({count / made:,.0f} rows/s); "
        f"drained in {drained:5.1f} s wall / {drained_cpu:5.1f} s CPU in the workers "
        f"(+{servers_cpu:4.1f} s CPU in the local servers); "
        f"LINE calls {line_state.calls - calls_before}; "
        f"send total {total:5.1f} s wall / {made_cpu + drained_cpu:5.1f} s CPU "
        f"({count / total:,.0f}/s); sent rows {sent:,}; each recipient exactly once: {exact}"
    )


def main() -> None:
    from django.conf import settings

    parser = argparse.ArgumentParser()
    parser.add_argument("--line", type=int, default=100_000)
    parser.add_argument("--email", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database")
    args = parser.parse_args()

    line_state, smtp_state = LineState(), SmtpState()
    line = line_server(line_state)
    smtp = smtp_server(smtp_state)
    for server in (line, smtp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.LINE_API_BASE_URL = f"http://127.0.0.1:{line.server_address[1]}"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.server_address[1]

    # A task worker is a long-lived process: it imports the LINE SDK and loads the URL
    # configuration once. Do it before forking the workers, and say what it costs.
    started = time.perf_counter()
    import linebot.v3.messaging  # noqa: F401
    from django.urls import reverse

    reverse("site-index")
    print(f"warm-up (LINE SDK import, URL configuration): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    city, template_line, template_mail = prepare(args.line, args.email)
    print(
        f"set-up: {args.line:,} LINE and {args.email:,} e-mail subscribers in "
        f"{time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.2f}; "
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
    )
    for workers in args.workers:
        run_one(city, template_line, workers, args.line, line_state.received, line_state)
        run_one(city, template_mail, workers, args.email, smtp_state.recipients, line_state)
    print(f"load average at the end {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    line.shutdown()
    smtp.shutdown()
    if settings.DATA_DIR.name.startswith("madoguchi-bench-"):  # made by this run
        shutil.rmtree(settings.DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
