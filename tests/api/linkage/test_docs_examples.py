"""docs/api.md's curl examples, run in order against a live server on loopback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

from madoguchi.api.webhooks.models import WebhookSubscription
from madoguchi.consultation.models import Message, Sender
from madoguchi.opendata.models import DailyCount
from madoguchi.procedures.models import Application
from madoguchi.surveillance.models import Case
from tests.api.linkage.capabilities import (
    call_center_csv,
    handed_over,
    kobe_call_center_row,
    payable_applications,
)
from tests.api.linkage.support import ALL_SCOPES, CASE_SCOPES, new_client
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import kyufukin_submit, publish_catalogue
from tests.surveillance.factories import make_world

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def _curl_blocks() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if "curl" in b]


def test_the_doc_has_the_five_steps() -> None:
    joined = "\n".join(_curl_blocks())

    for needed in (
        "/oauth/token",
        "/applications?",
        "/transitions",
        "/webhooks",
        "/notifications",
        "/cases?",
        "/follow-up",
        "/self-reports",
        "/payments/exports",
        "/consultations",
        "/opendata/imports",
        "/opendata/files",
    ):
        assert needed in joined


def test_the_curl_examples_work_against_a_live_server(
    live_server: LiveServer, tenant_a: Tenant, tenant_b: Tenant, tmp_path: Path
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    version = publish_catalogue(tenant_a.municipality, "teigaku-kyufukin", "welfare")
    application = kyufukin_submit(version).application
    make_world(tenant_a, tenant_b)  # 神戸市保健所 and its clinic, for the case register's steps
    payable = payable_applications(tenant_a)
    conversation = handed_over(tenant_a)
    (tmp_path / "call_center.csv").write_bytes(
        call_center_csv([kobe_call_center_row("2020-04-01", "12")])
    )
    client, secret = new_client(tenant_a.municipality, [*ALL_SCOPES, *CASE_SCOPES])
    script = "set -eu\n" + "\n".join(_curl_blocks())
    environment = {
        **os.environ,
        "BASE": live_server.url,
        "CITY": "kobe",
        "CLIENT_ID": client.client_id,
        "CLIENT_SECRET": secret,
    }

    done = subprocess.run(
        ["bash", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )

    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    assert Application.objects.get(pk=application.pk).state == "reviewing"
    assert WebhookSubscription.objects.get().url == "https://kikan.example.lg.jp/madoguchi/events"
    assert application.receipt_number in done.stdout
    case = Case.objects.get()
    assert (case.name, case.follow_up, case.follow_up_note) == (
        "山田 太郎",
        "monitoring",
        "初回連絡済み",
    )
    assert '"birth_date": "1990-04-01"' in done.stdout  # the case detail was printed
    [transfer_file] = tmp_path.glob("281000_teigaku-kyufukin_*.txt")
    assert transfer_file.read_bytes().count(b"\r\n") == len(payable) + 3
    assert Message.objects.filter(conversation=conversation, sender=Sender.STAFF).exists()
    assert DailyCount.objects.get(municipality=tenant_a.municipality).count == 12
    assert "2020-04-01" in (tmp_path / "export.csv").read_text(encoding="utf-8-sig")
