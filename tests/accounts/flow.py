"""Helpers for driving the two-step staff sign-in through the test client."""

from __future__ import annotations

import time

from django.http import HttpResponse
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.isolation import PASSWORD

GENERIC_FAILURE = "ユーザー名またはパスワードが正しくありません。"
INVALID_CODE = (
    "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's authenticator app shows now (or ``steps_ahead`` steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():06d}"


def wrong_code(device: TOTPDevice) -> str:
    """Six digits that the device does not accept in any step of its tolerance window."""
    near = {totp_code(device, steps_ahead=k) for k in range(-2, 3)}
    candidate = 0
    while f"{candidate:06d}" in near:
        candidate += 1
    return f"{candidate:06d}"


def login_urls(slug: str | None) -> tuple[str, str]:
    """The password-step and code-step URLs of a municipality, or of the platform (None)."""
    prefix = f"/{slug}" if slug else ""
    return f"{prefix}/staff/login/", f"{prefix}/staff/login/code/"


def post_password(
    client: Client,
    username: str,
    password: str = PASSWORD,
    *,
    slug: str | None = "kobe",
    **extra: str,
) -> HttpResponse:
    return client.post(login_urls(slug)[0], {"username": username, "password": password, **extra})


def post_code(client: Client, token: str, *, slug: str | None = "kobe") -> HttpResponse:
    return client.post(login_urls(slug)[1], {"token": token})


def page_text(response: HttpResponse) -> str:
    return response.content.decode("utf-8")
