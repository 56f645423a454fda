"""Admission control: full slots answer 503 fast (page or JSON), other paths are never held."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from madoguchi.audit.services import AuditActor
from madoguchi.core import admission
from madoguchi.core.admission import Gate, gate_for
from madoguchi.procedures.catalogue import catalogue_definition
from madoguchi.procedures.models import Application, Draft
from madoguchi.procedures.services import procedure_publish
from tests.isolation import Tenant
from tests.procedures.conftest import publish
from tests.procedures.test_duplicates import jido_answers

SUBMIT_URL = "/api/v1/kobe/procedures/jido-teate/applications"
FORM = "application/x-www-form-urlencoded"
KINDS = ("submit", "chat", "upload", "search", "import")


@pytest.fixture(autouse=True)
def one_slot_each(settings: Settings) -> Iterator[None]:
    settings.ADMISSION_SLOTS = dict.fromkeys(KINDS, 1)
    settings.ADMISSION_QUEUE_MS = 50
    settings.ADMISSION_RETRY_AFTER = 7
    admission.gates_clear()
    yield
    admission.gates_clear()


@pytest.fixture
def jido(tenant_a: Tenant) -> Tenant:
    procedure_publish(
        municipality=tenant_a.municipality,
        data={**catalogue_definition("jido-teate"), "department": "welfare"},
        actor=AuditActor(label="test"),
    )
    return tenant_a


def hold(kind: str) -> Gate:
    """Take the only slot of ``kind`` as a request in another thread would."""
    gate = gate_for(kind)
    assert gate is not None
    assert gate.enter(0)
    return gate


def submit(client: Client) -> Any:
    answers = jido_answers("web")
    return client.post(SUBMIT_URL, {"answers": answers}, content_type="application/json")


def test_an_api_submission_past_full_slots_gets_the_json_503_fast_and_stores_nothing(
    jido: Tenant,
) -> None:
    gate = hold("submit")
    submit(Client())  # the first request of the process loads what every request needs
    started = time.monotonic()
    response = submit(Client())
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "busy"
    assert "混み合って" in response.json()["error"]["message"]
    assert 0.05 <= elapsed < 1.0  # waited the queue budget, not a timeout
    assert Application.objects.count() == 0

    gate.leave(0.01)
    assert submit(Client()).status_code == 201
    assert Application.objects.count() == 1


def test_a_request_is_let_in_when_a_slot_frees_within_the_budget(
    jido: Tenant, settings: Settings
) -> None:
    settings.ADMISSION_QUEUE_MS = 2000
    gate = hold("submit")
    threading.Timer(0.1, gate.leave, args=(0.1,)).start()
    assert submit(Client()).status_code == 201


def test_a_shed_wizard_step_keeps_what_was_typed_and_can_be_sent_again(tenant_a: Tenant) -> None:
    publish(tenant_a.municipality)
    client = Client(enforce_csrf_checks=True)
    client.get("/kobe/procedures/teigaku-kyufukin/")
    token = client.cookies["csrftoken"].value
    start = client.post("/kobe/procedures/teigaku-kyufukin/", {"csrfmiddlewaretoken": token})
    first = start["Location"]
    typed = {
        "csrfmiddlewaretoken": token,
        "action": "next",
        "name": "神戸 太郎",
        "name_kana": "コウベ タロウ",
        "birth_date": "1980-04-01",
        "postal_code": "650-8570",
        "address": "神戸市中央区加納町6-5-1 <b>&\"'",
        "phone": "078-331-8181",
        "email": "taro@example.jp",
    }
    gate = hold("submit")
    response = client.post(first, urlencode(typed), content_type=FORM)  # as a browser sends it
    gate.leave(0.01)

    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "ただいま混み合っています" in page
    assert "入力した内容はこのページに保持しています" in page
    draft = Draft.objects.get()
    assert not draft.raw  # nothing of the step reached the draft
    # The page's form carries every field back, escaped, to the same address.
    [form] = re.findall(
        r'<form method="post" action="([^"]+)" class="form">(.*?)</form>', page, re.S
    )
    assert html.unescape(form[0]) == first
    fields = {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form[1])
    }
    assert fields == typed
    assert "<b>" not in form[1]

    resent = client.post(html.unescape(form[0]), urlencode(fields), content_type=FORM)
    assert resent.status_code == 302
    draft.refresh_from_db()
    assert draft.raw["applicant"]["address"] == typed["address"]


def test_a_shed_multipart_form_asks_to_go_back_instead(tenant_a: Tenant) -> None:
    publish(tenant_a.municipality)
    client = Client()
    first = client.post("/kobe/procedures/teigaku-kyufukin/")["Location"]
    gate = hold("upload")
    response = client.post(first, {"action": "next", "name": "神戸 太郎"})  # multipart
    gate.leave(0.01)
    assert response.status_code == 503
    page = response.content.decode()
    assert "ブラウザの「戻る」" in page
    assert "もう一度送信する" not in page


@pytest.mark.parametrize("kind", ["chat"])
def test_chat_messages_on_the_web_and_line_are_shed_when_chat_is_full(
    tenant_a: Tenant, kind: str
) -> None:
    gate = hold(kind)
    web = Client().post("/kobe/chat/", "question=%E4%BD%8F%E6%B0%91%E7%A5%A8", content_type=FORM)
    line = Client().post(
        "/kobe/line/webhook", data=b"{}", content_type="application/json",
        headers={"X-Line-Signature": "x"},
    )  # fmt: skip
    gate.leave(0.01)
    assert web.status_code == 503
    assert "ただいま混み合っています" in web.content.decode()
    assert line.status_code == 503
    assert line["Retry-After"] == "7"


def test_api_uploads_are_shed_with_the_json_error(tenant_a: Tenant) -> None:
    gate = hold("upload")
    response = Client().post(
        "/api/v1/kobe/uploads?procedure=teigaku-kyufukin&field=id_document", {"file": b"x"}
    )
    gate.leave(0.01)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "busy"


def test_a_staff_search_is_limited_but_the_plain_list_is_not(tenant_a: Tenant) -> None:
    client = tenant_a.client("admin")
    gate = hold("search")
    searched = client.get("/kobe/staff/applications/?q=神戸")
    listed = client.get("/kobe/staff/applications/")
    paged = client.get("/kobe/staff/applications/?page=1")
    gate.leave(0.01)
    assert searched.status_code == 503
    assert listed.status_code == 200
    assert paged.status_code == 200


def test_unlimited_paths_are_served_while_every_kind_is_full(jido: Tenant) -> None:
    created = submit(Client()).json()
    gates = [hold(kind) for kind in KINDS]
    client = Client()
    try:
        lookup = client.post(
            "/api/v1/kobe/status",
            {"receipt_number": created["receipt_number"], "secret": created["secret"]},
            content_type="application/json",
        )
        pages = {
            url: client.get(url).status_code
            for url in (
                "/",
                "/kobe/",
                "/kobe/procedures/",
                "/kobe/status/",
                "/kobe/dashboard/",
                "/healthz",
                "/api/v1/kobe/procedures",
                "/static/madoguchi/css/madoguchi.css",
            )
        }
        web_lookup = client.post(
            "/kobe/status/",
            {"receipt_number": created["receipt_number"], "secret": created["secret"]},
        )
    finally:
        for gate in gates:
            gate.leave(0.01)
    assert lookup.status_code == 200
    assert pages == dict.fromkeys(pages, 200)
    assert web_lookup.status_code == 200


def test_zero_slots_means_no_limit(jido: Tenant, settings: Settings) -> None:
    settings.ADMISSION_SLOTS = {**settings.ADMISSION_SLOTS, "submit": 0}
    assert gate_for("submit") is None
    assert submit(Client()).status_code == 201


def test_the_gate_never_lets_in_more_than_its_slots_and_sheds_within_the_budget() -> None:
    gate = Gate(2)
    inside = 0
    most = 0
    lock = threading.Lock()
    outcomes: list[tuple[bool, float]] = []

    def request() -> None:
        nonlocal inside, most
        started = time.monotonic()
        if not gate.enter(0.05):
            outcomes.append((False, time.monotonic() - started))
            return
        outcomes.append((True, time.monotonic() - started))
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.03)
        with lock:
            inside -= 1
        gate.leave(0.03)

    threads = [threading.Thread(target=request) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(outcomes) == 24
    assert most == 2
    assert gate.busy == 0
    assert gate.waiting == 0
    admitted = [wait for ok, wait in outcomes if ok]
    shed = [wait for ok, wait in outcomes if not ok]
    assert len(admitted) >= 2
    assert shed
    assert max(shed) < 0.5  # answered after at most the budget, plus scheduling


@pytest.mark.django_db(transaction=True)
def test_concurrent_api_submissions_store_exactly_the_201s(jido: Tenant) -> None:
    barrier = threading.Barrier(8)
    statuses: list[int] = []
    receipts: list[str] = []

    def post(index: int) -> None:
        client = Client()
        barrier.wait(5)
        answers = jido_answers("web", name_kana="コウベ タロウ", phone=f"078-331-{index:04d}")
        response = client.post(SUBMIT_URL, {"answers": answers}, content_type="application/json")
        statuses.append(response.status_code)
        if response.status_code == 201:
            receipts.append(response.json()["receipt_number"])
        else:
            assert response.json()["error"]["code"] == "busy"

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(statuses) == 8
    assert set(statuses) <= {201, 503}
    assert Application.objects.count() == statuses.count(201) == len(set(receipts))
    gate = gate_for("submit")
    assert gate is not None
    assert gate.busy == 0
