"""Read-only mode: reads work, every write is refused at the door and at the database layer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.audit.models import AuditEntry
from madoguchi.audit.services import AuditActor, audit_event
from madoguchi.consultation.models import Conversation, LineWebhookEvent, Message
from madoguchi.consultation.services import line_channel_save
from madoguchi.core.models import RateLimitCounter
from madoguchi.core.readonly import ReadOnlyError, read_only_active, read_only_switch
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application, Draft
from madoguchi.procedures.services import procedure_publish
from madoguchi.tenants.models import Municipality
from tests.isolation import Tenant, snapshot
from tests.procedures.test_duplicates import jido_answers

SUBMIT_URL = "/api/v1/kobe/procedures/jido-teate/applications"
FORM = "application/x-www-form-urlencoded"
LINE_SECRET = "kobe-channel-secret"


@pytest.fixture
def jido(tenant_a: Tenant) -> Tenant:
    procedure_publish(
        municipality=tenant_a.municipality,
        data={**catalogue_definition("jido-teate"), "department": "welfare"},
        actor=AuditActor(label="test"),
    )
    return tenant_a


@pytest.fixture
def read_only(settings: Settings) -> Callable[[bool], None]:
    def switch(on: bool) -> None:
        call_command("readonly", "on" if on else "off")

    return switch


def submit(**changes: Any) -> Any:
    return Client().post(
        SUBMIT_URL, {"answers": jido_answers("web", **changes)}, content_type="application/json"
    )


def stored() -> tuple[Any, ...]:
    return (
        snapshot(Application.objects.all()),
        snapshot(Draft.objects.all()),
        snapshot(AuditEntry.objects.all()),
        snapshot(RateLimitCounter.objects.all()),
    )


def test_the_command_switches_the_flag_file_and_every_process_reads_it(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    flag = Path(settings.READ_ONLY_FILE)
    call_command("readonly", "on", "--reason", "DB の切り替え")
    assert json.loads(flag.read_text(encoding="utf-8"))["reason"] == "DB の切り替え"
    assert read_only_active()
    call_command("readonly", "status")
    assert "read-only mode: on" in capsys.readouterr().out
    call_command("readonly", "off")
    assert not flag.exists()
    assert not read_only_active()
    # Written by another process (or host): seen within READ_ONLY_CHECK_SECONDS.
    flag.write_text("", encoding="utf-8")
    assert read_only_active()


def test_the_flag_file_is_re_read_at_most_every_check_interval(settings: Settings) -> None:
    settings.READ_ONLY_CHECK_SECONDS = 3600
    assert not read_only_active()
    Path(settings.READ_ONLY_FILE).write_text("{}", encoding="utf-8")
    assert not read_only_active()  # still the cached answer
    settings.READ_ONLY_CHECK_SECONDS = 0
    assert read_only_active()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "invalid choice"),
        (["on", "--reason", "x" * 201], "longer than 200"),
        (["off", "--reason", "done"], "with 'on' only"),
    ],
)
def test_bad_input_to_the_command_is_a_clear_error(argv: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("readonly", *argv)
    assert not read_only_active()


def test_an_unwritable_flag_path_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    settings.READ_ONLY_FILE = blocker / "read-only"
    with pytest.raises(CommandError, match="cannot write the flag file"):
        call_command("readonly", "on")


def test_the_setting_keeps_the_mode_on_and_off_says_so(settings: Settings) -> None:
    settings.READ_ONLY = True
    assert read_only_active()
    with pytest.raises(CommandError, match="MADOGUCHI_READ_ONLY is set"):
        call_command("readonly", "off")
    assert Client().post(SUBMIT_URL, {}, content_type="application/json").status_code == 503


def test_api_writes_are_refused_with_json_and_restored_without_restart(
    jido: Tenant, read_only: Callable[[bool], None]
) -> None:
    read_only(True)
    before = stored()
    response = submit()
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert response.json()["error"]["code"] == "read_only"
    assert "メンテナンス中" in response.json()["error"]["message"]
    assert stored() == before

    read_only(False)
    assert submit().status_code == 201
    assert Application.objects.count() == 1


def test_reads_keep_working_and_the_status_lookup_counts_in_memory(
    jido: Tenant, read_only: Callable[[bool], None]
) -> None:
    created = submit().json()
    read_only(True)
    before = stored()
    client = Client()
    lookup = client.post(
        "/api/v1/kobe/status",
        {"receipt_number": created["receipt_number"], "secret": created["secret"]},
        content_type="application/json",
    )
    web_lookup = client.post(
        "/kobe/status/",
        f"receipt_number={created['receipt_number']}&secret={created['secret']}",
        content_type=FORM,
    )
    pages = {
        url: client.get(url).status_code
        for url in ("/", "/kobe/", "/kobe/procedures/", "/kobe/dashboard/", "/healthz")
    }
    assert lookup.status_code == 200
    assert lookup.json()["receipt_number"] == created["receipt_number"]
    assert web_lookup.status_code == 200
    assert created["receipt_number"][-4:] in web_lookup.content.decode()
    assert pages == dict.fromkeys(pages, 200)
    assert stored() == before


def test_web_forms_are_refused_with_the_japanese_page(
    jido: Tenant, read_only: Callable[[bool], None]
) -> None:
    read_only(True)
    before = stored()
    response = Client().post("/kobe/procedures/jido-teate/", "", content_type=FORM)
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "ただいまメンテナンス中です" in page
    assert "何も保存されていません" in page
    assert stored() == before

    read_only(False)
    assert Client().post("/kobe/procedures/jido-teate/").status_code == 302
    assert Draft.objects.count() == 1


def test_sign_in_is_refused_with_the_page_and_changes_nothing(
    tenant_a: Tenant, read_only: Callable[[bool], None]
) -> None:
    read_only(True)
    before = stored()
    response = Client().post(
        "/kobe/staff/login/", "username=kobe-admin&password=x", content_type=FORM
    )
    assert response.status_code == 503
    assert "ログイン" in response.content.decode()
    assert stored() == before


def test_staff_keep_reading_pages_that_record_nothing_but_not_personal_data(
    jido: Tenant, read_only: Callable[[bool], None]
) -> None:
    created = submit().json()
    client = jido.client("admin")
    read_only(True)
    before = stored()
    home = client.get("/kobe/staff/")
    queue = client.get("/kobe/staff/applications/")
    # The detail page must leave an access entry, which cannot be written now.
    detail = client.get(f"/kobe/staff/applications/{created['receipt_number']}/")
    assert home.status_code == 200
    assert queue.status_code == 200
    # Names in the list would need an access entry: they are left out, and the page says so.
    assert "申請者の氏名を表示していません" in queue.content.decode()
    assert detail.status_code == 503
    assert "ただいまメンテナンス中です" in detail.content.decode()
    assert stored() == before

    read_only(False)
    assert client.get(f"/kobe/staff/applications/{created['receipt_number']}/").status_code == 200


def _signature(body: bytes) -> str:
    digest = hmac.new(LINE_SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_the_line_webhook_is_refused_and_stores_nothing(
    tenant_a: Tenant, read_only: Callable[[bool], None]
) -> None:
    line_channel_save(
        municipality=tenant_a.municipality,
        channel_secret=LINE_SECRET,
        access_token="token",
        actor=AuditActor(label="test"),
    )
    body = json.dumps({"destination": "U" + "b" * 32, "events": []}).encode()
    headers = {"X-Line-Signature": _signature(body)}
    read_only(True)
    tables = (LineWebhookEvent, Conversation, Message)
    before = [snapshot(model.objects.all()) for model in tables]
    response = Client().post(
        "/kobe/line/webhook", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "300"
    assert [snapshot(model.objects.all()) for model in tables] == before

    read_only(False)
    response = Client().post(
        "/kobe/line/webhook", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 200


def test_the_database_layer_refuses_a_write_that_slips_through(tenant_a: Tenant) -> None:
    read_only_switch(on=True)
    before = snapshot(AuditEntry.objects.all())
    with pytest.raises(ReadOnlyError), transaction.atomic():
        audit_event(
            actor=AuditActor(label="test"), action="test.write", municipality=tenant_a.municipality
        )
    towns = snapshot(Municipality.objects.all())
    with pytest.raises(ReadOnlyError), transaction.atomic():
        Municipality.objects.filter(pk=tenant_a.municipality.pk).update(name="書き換え")
    with pytest.raises(ReadOnlyError), transaction.atomic():
        RateLimitCounter.objects.all().delete()
    assert snapshot(AuditEntry.objects.all()) == before
    assert snapshot(Municipality.objects.all()) == towns
    read_only_switch(on=False)


def test_a_transaction_cut_by_the_switch_leaves_nothing_half_written(tenant_a: Tenant) -> None:
    actor = AuditActor(label="test")
    before = snapshot(AuditEntry.objects.all())

    def two_writes() -> None:
        with transaction.atomic():
            audit_event(actor=actor, action="test.first", municipality=tenant_a.municipality)
            read_only_switch(on=True)  # the operator switches while the transaction runs
            audit_event(actor=actor, action="test.second", municipality=tenant_a.municipality)

    with pytest.raises(ReadOnlyError):
        two_writes()
    read_only_switch(on=False)
    assert snapshot(AuditEntry.objects.all()) == before


def test_a_maintenance_command_may_override_the_mode(settings: Settings, tenant_a: Tenant) -> None:
    read_only_switch(on=True)
    settings.READ_ONLY_OVERRIDE = True
    audit_event(
        actor=AuditActor(label="test"),
        action="test.maintenance",
        municipality=tenant_a.municipality,
    )
    assert AuditEntry.objects.filter(action="test.maintenance").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_waits_while_read_only_and_runs_the_task_after(tenant_a: Tenant) -> None:
    from django.db import connection
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from madoguchi.procedures.tasks import notify_state_change

    notify_state_change.enqueue(application_id=0, state_change_id=0)  # nothing to send
    read_only_switch(on=True)
    worker = Worker(
        queue_names=["*"], interval=0.05, batch=False, backend_name="default",
        startup_delay=False, max_tasks=1, worker_id="test", excluded_queue_names=[],
    )  # fmt: skip
    failures: list[BaseException] = []

    def work() -> None:
        try:
            worker.run()
        except BaseException as exc:  # the worker must not die of the refusal
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(1.0)  # about 20 attempts to claim the task
    [task] = DBTaskResult.objects.all()
    assert task.status == TaskResultStatus.READY
    assert thread.is_alive()

    read_only_switch(on=False)
    thread.join(20)
    assert not thread.is_alive()
    assert failures == []
    task.refresh_from_db()
    assert task.status == TaskResultStatus.SUCCESSFUL
