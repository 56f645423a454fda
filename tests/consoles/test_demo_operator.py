"""``make demo`` creates and prints a platform operator who can open the operator console."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.demo.services import DEMO_PASSWORD
from tests.accounts.flow import post_code, post_password, totp_code

pytestmark = pytest.mark.django_db


def test_the_demo_prints_an_operator_who_signs_in_to_the_console() -> None:
    out = StringIO()
    call_command("demo", "load", stdout=out)
    text = out.getvalue()

    operator = User.objects.get(username="operator")
    assert (operator.is_superuser, operator.is_active) == (True, True)
    assert "operator:     http://127.0.0.1:8000/staff/login/" in text
    device = TOTPDevice.objects.get(user=operator, confirmed=True)
    [line] = [row for row in text.splitlines() if row.strip().startswith("operator ")]
    assert "運用管理者" in line

    client = Client()
    post_password(client, "operator", DEMO_PASSWORD, slug=None)
    assert post_code(client, totp_code(device), slug=None)["Location"] == "/operator/"
    page = client.get("/operator/").content.decode()
    assert "/kobe/" in page
    assert "/sayo/" in page
