"""Delivery: LINE 429 and 500 retried with the same X-Line-Retry-Key, channels independent,
a worker killed mid-send resumed without duplicates."""

from __future__ import annotations

import email
import os
import signal
import socketserver
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.mail.message import sanitize_address
from django.db import connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from madoguchi.core.taskrecovery import tasks_requeue_lost
from madoguchi.messaging import delivery, services
from madoguchi.messaging.channels import line_senders
from madoguchi.messaging.models import (
    Channel,
    Delivery,
    DeliveryBatch,
    Send,
    SendState,
    Subscriber,
)
from madoguchi.messaging.models.subscriptions import address_digest
from tests.isolation import Tenant
from tests.messaging.conftest import ACTOR, MessagingApi, run_worker, subscriber
from tests.procedures.test_concurrent_submit import database_url
from tests.procedures.test_submit import _SMTPServer

ROOT = Path(__file__).resolve().parents[2]


def _start(city: Tenant) -> Send:
    template = services.template_save(
        municipality=city.municipality,
        name="ごみ",
        topic=city.data["topics"]["gomi"],
        subject_ja="収集日の変更",
        body_ja="年末年始の収集日が変わります。",
        actor=ACTOR,
    )
    return services.send_create(
        municipality=city.municipality,
        template=template,
        topics=[template.topic],
        areas=[],
        languages=["ja"],
        scheduled_at=None,
        actor=ACTOR,
    )


def _subscribers(city: Tenant, *, line: int, mail: int) -> None:
    gomi = city.data["topics"]["gomi"]
    for n in range(line):
        subscriber(city.municipality, f"U{n:032d}", channel=Channel.LINE, topics=[gomi])
    for n in range(mail):
        subscriber(city.municipality, f"m{n}@example.jp", topics=[gomi])


@pytest.mark.django_db(transaction=True)
def test_429_and_500_are_retried_with_the_same_retry_key_and_delivered_once(
    city: Tenant,
    line_api: MessagingApi,
    smtp_server: _SMTPServer,
    no_backoff: None,
    signal_handlers: None,
) -> None:
    _subscribers(city, line=3, mail=2)
    line_api.script = [(429, {"Retry-After": "0"}), (500, {})]
    send = _start(city)

    run_worker()

    assert [c.status for c in line_api.calls] == [429, 500, 200]
    assert [c.path for c in line_api.calls] == ["/v2/bot/message/multicast"] * 3
    keys = {c.retry_key for c in line_api.calls}
    [batch] = DeliveryBatch.objects.filter(channel=Channel.LINE)
    assert keys == {str(batch.retry_key)}
    assert sorted(line_api.delivered()) == [f"U{n:032d}" for n in range(3)]
    rows = Delivery.objects.filter(channel=Channel.LINE)
    assert {(r.state, r.attempts) for r in rows} == {("sent", 3)}
    assert len(smtp_server.messages) == 2
    send.refresh_from_db()
    assert send.state == SendState.DONE


@pytest.mark.django_db(transaction=True)
def test_a_failing_line_channel_never_blocks_the_emails(
    city: Tenant,
    line_api: MessagingApi,
    smtp_server: _SMTPServer,
    no_backoff: None,
    signal_handlers: None,
    settings: Any,
) -> None:
    """LINE answers 500 every time: e-mails all go; LINE rows end failed with the reason."""
    settings.MESSAGING_MAX_ATTEMPTS = 3
    _subscribers(city, line=2, mail=3)
    line_api.script = [(500, {})] * 10
    send = _start(city)

    run_worker()

    assert len(smtp_server.messages) == 3
    assert [c.status for c in line_api.calls] == [500, 500, 500]
    line_rows = Delivery.objects.filter(channel=Channel.LINE)
    assert {(r.state, r.attempts) for r in line_rows} == {("failed", 3)}
    assert all(r.reason.startswith("500") for r in line_rows)
    assert set(Delivery.objects.filter(channel=Channel.EMAIL).values_list("state", flat=True)) == {
        "sent"
    }
    send.refresh_from_db()
    assert send.state == SendState.DONE


@pytest.mark.django_db(transaction=True)
def test_a_line_400_fails_at_once_with_its_reason(
    city: Tenant, line_api: MessagingApi, no_backoff: None, signal_handlers: None
) -> None:
    _subscribers(city, line=2, mail=0)
    line_api.script = [(400, {})]
    _start(city)
    run_worker()
    assert len(line_api.calls) == 1
    assert set(Delivery.objects.values_list("state", "attempts")) == {("failed", 1)}


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_send_is_resumed_without_duplicates(
    city: Tenant,
    line_api: MessagingApi,
    smtp_server: _SMTPServer,
    no_backoff: None,
    signal_handlers: None,
    settings: Any,
    tmp_path: Path,
) -> None:
    """A db_worker process is killed while LINE holds its second multicast (already accepted).

    Another worker takes the batch over after the lease, LINE answers 409 to the same retry
    key, and every recipient has exactly one message on each channel.
    """
    settings.MESSAGING_LEASE_SECONDS = 1
    _subscribers(city, line=1000, mail=5)  # two multicasts of 500 and one e-mail batch
    line_api.stall_on = 2
    send = _start(city)
    connection.close()  # the worker process writes to the same database

    env = {
        **os.environ,
        "MADOGUCHI_ENV": "test",
        "DATABASE_URL": database_url(),
        "MADOGUCHI_LINE_API_BASE_URL": line_api.url,
        "MADOGUCHI_EMAIL_BACKEND": "smtp",
        "MADOGUCHI_EMAIL_HOST": "127.0.0.1",
        "MADOGUCHI_EMAIL_PORT": str(smtp_server.server_address[1]),
        "MADOGUCHI_MESSAGING_LEASE_SECONDS": "1",
        "MADOGUCHI_MESSAGING_RETRY_BASE_SECONDS": "0",
        "MADOGUCHI_MESSAGING_TASKS_PER_SEND": "1",
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "PYTHONPATH": str(ROOT),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "madoguchi.cli",
            "db_worker",
            "--batch",
            "--no-startup-delay",
            "--no-reload",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
    )
    try:
        assert line_api.stalled.wait(120), (tmp_path / "worker.log").read_text()[-2000:]
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    line_api.release.set()
    assert worker.returncode == -signal.SIGKILL
    assert Delivery.objects.filter(state="sent", channel=Channel.LINE).count() == 500
    time.sleep(1.2)  # the dead worker's lease on its batch runs out
    # What `madoguchi serve` does when it sees its worker die: the task goes back in the queue.
    [running] = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    assert tasks_requeue_lost(worker_id=running.worker_ids[-1]) == 1

    run_worker()

    statuses = [c.status for c in line_api.calls]
    assert statuses == [200, 200, 409]  # the taken-over batch: same key, accepted once
    assert line_api.calls[1].retry_key == line_api.calls[2].retry_key
    delivered = line_api.delivered()
    assert len(delivered) == len(set(delivered)) == 1000
    recipients = [r for _s, rs, _d in smtp_server.messages for r in rs]
    assert sorted(recipients) == sorted(f"<m{n}@example.jp>" for n in range(5))
    assert set(Delivery.objects.values_list("state", flat=True)) == {"sent"}
    send.refresh_from_db()
    assert send.state == SendState.DONE


@pytest.mark.django_db
def test_dispatch_writes_one_queued_row_per_recipient_as_a_new_delivery_would_be(
    city: Tenant,
) -> None:
    """The rows are written with plain INSERTs: each is what ``Delivery()`` would have made."""
    _subscribers(city, line=3, mail=2)
    other = subscriber(city.municipality, "x@example.jp", topics=[city.data["topics"]["bousai"]])
    send = _start(city)

    assert delivery.send_dispatch(send_id=send.pk) == "started"

    new = Delivery()
    rows = list(Delivery.objects.select_related("batch", "subscriber"))
    assert sorted(r.subscriber.address for r in rows) == sorted(
        [f"U{n:032d}" for n in range(3)] + ["m0@example.jp", "m1@example.jp"]
    )
    assert other.pk not in {r.subscriber_id for r in rows}
    for row in rows:
        assert row.municipality_id == city.municipality.pk
        assert row.send_id == send.pk
        assert row.channel == row.subscriber.channel == row.batch.channel
        assert row.batch.send_id == send.pk
        assert (row.state, row.attempts, row.reason, row.sent_at) == (
            new.state,
            new.attempts,
            new.reason,
            new.sent_at,
        )
    send.refresh_from_db()
    assert send.recipient_count == 5
    assert send.state == SendState.SENDING


def test_a_worker_keeps_one_line_sender_per_access_token() -> None:
    """Reused between multicasts (its HTTP connection stays open); a new token, a new sender."""
    first = line_senders.for_token("token-a")

    assert line_senders.for_token("token-a") is first
    assert line_senders.for_token("token-b") is not first


@pytest.mark.django_db(transaction=True)
def test_each_email_is_the_message_django_builds_for_its_own_recipient(
    city: Tenant, smtp_server: _SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's e-mails are copies of one rendering per token length: each still has its own
    address, links and Message-ID, byte for byte what Django's EmailMessage makes (bar the
    Date); an address outside plain ASCII is built the usual way and arrives too."""
    gomi = city.data["topics"]["gomi"]
    plain = ["a@example.jp"] + [f"b{n}.long-name+tag@mail.example.jp" for n in range(19)]
    for n, address in enumerate([*plain, "jyumin@例え.jp"]):
        added = subscriber(city.municipality, address, topics=[gomi])
        token = ("t" * 64) if n == 0 else f"{n:02d}" * 21 + "x"
        Subscriber.objects.filter(pk=added.pk).update(token=token)
    built: list[str] = []
    email_of_row = delivery._email

    def counted(*args: Any) -> Any:
        built.append(args[1].subscriber.address)
        return email_of_row(*args)

    monkeypatch.setattr(delivery, "_email", counted)
    send = _start(city)
    delivery.send_dispatch(send_id=send.pk)

    assert delivery.send_drain(send_id=send.pk) == 1

    # Django built a message and its check per token length (and id length: ids may pass
    # from 9 to 10 within the batch), and the one outside ASCII: far fewer than 21.
    rows = Delivery.objects.select_related("subscriber")  # addresses are stored encrypted
    lengths = {
        (len(r.subscriber.token), len(str(r.pk))) for r in rows if "例" not in r.subscriber.address
    }
    assert len(built) == 2 * len(lengths) + 1 <= 7
    received = {rs[0]: data for _s, rs, data in smtp_server.messages}
    assert sorted(received) == sorted(
        [f"<{address}>" for address in plain] + ["<jyumin@xn--r8jz45g.jp>"]
    )
    [batch] = DeliveryBatch.objects.select_related("send__template", "municipality")
    content = delivery._content(batch)
    for row in Delivery.objects.select_related("subscriber"):
        message = email_of_row(batch, row, content, None).message()
        expected = email.message_from_bytes(message.as_bytes(linesep="\r\n"))
        envelope = f"<{sanitize_address(row.subscriber.address, 'utf-8')}>"
        got = email.message_from_bytes(received[envelope])
        assert [(k, v) for k, v in got.items() if k != "Date"] == [
            (k, v) for k, v in expected.items() if k != "Date"
        ]
        assert got.get_payload(decode=True) == expected.get_payload(decode=True)
        assert f"/unsubscribe/{row.subscriber.token}/" in got["List-Unsubscribe"]
        assert got["Message-ID"] == f"<delivery-{row.pk}@madoguchi.invalid>"
    assert set(Delivery.objects.values_list("state", "attempts")) == {("sent", 1)}


class _RefusingHandler(socketserver.StreamRequestHandler):
    """SMTP that refuses (550) every recipient whose address starts with "refuse"."""

    server: _SMTPServer

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode("ascii", errors="replace").rstrip("\r\n")
            verb = command[:4].upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250 8BITMIME")
            elif verb == "RCPT":
                address = command.partition(":")[2].strip()
                if address.startswith("<refuse"):
                    self.reply("550 5.1.1 No such user")
                else:
                    recipients.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                self.server.messages.append(("", recipients, b""))
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:  # MAIL, RSET, NOOP
                recipients = [] if verb in {"MAIL", "RSET"} else recipients
                self.reply("250 OK")


@pytest.mark.django_db(transaction=True)
def test_a_refused_recipient_fails_alone_and_the_batch_goes_on(
    city: Tenant, smtp_server: _SMTPServer
) -> None:
    """The server refuses one address: that row fails with the reason, the others are sent
    over the same connection, each once."""
    smtp_server.RequestHandlerClass = _RefusingHandler
    gomi = city.data["topics"]["gomi"]
    for address in ("a@example.jp", "refuse@example.jp", "c@example.jp"):
        added = subscriber(city.municipality, address, topics=[gomi])
        Subscriber.objects.filter(pk=added.pk).update(token=address[0] * 43)
    send = _start(city)
    delivery.send_dispatch(send_id=send.pk)

    assert delivery.send_drain(send_id=send.pk) == 1

    assert [rs for _s, rs, _d in smtp_server.messages] == [["<a@example.jp>"], ["<c@example.jp>"]]
    states = dict(Delivery.objects.values_list("subscriber__address", "state"))
    assert states == {"a@example.jp": "sent", "refuse@example.jp": "failed", "c@example.jp": "sent"}
    refused = Delivery.objects.get(subscriber__address_digest=address_digest("refuse@example.jp"))
    assert refused.reason.startswith("refused: [(550, b'5.1.1 No such user')]")
    assert refused.attempts == 1
