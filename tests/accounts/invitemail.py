"""Reading invitation e-mails off the loopback SMTP server, and accepting them like a person."""

from __future__ import annotations

import email
import email.header
import re

from django.http import HttpResponse
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from tests.accounts.flow import totp_code
from tests.procedures.test_submit import _SMTPServer

NEW_PASSWORD = "a long and private passphrase 2026"
LINK = re.compile(r"https?://[^/\s]+(/staff/invitation/[A-Za-z0-9_-]+/)")


def mails(server: _SMTPServer) -> list[tuple[list[str], str, str]]:
    """(recipients, subject, body) of every message the server took, decoded."""
    out = []
    for _sender, recipients, data in server.messages:
        message = email.message_from_bytes(data)
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        payload = message.get_payload(decode=True)
        assert isinstance(payload, bytes)
        body = payload.decode(message.get_content_charset() or "utf-8").replace("\r\n", "\n")
        out.append(([r.strip("<>") for r in recipients], subject, body))
    return out


def link_in(body: str) -> str:
    """The invitation path in an e-mail body."""
    match = LINK.search(body)
    assert match is not None, body
    return match.group(1)


def last_link(server: _SMTPServer) -> str:
    return link_in(mails(server)[-1][2])


def accept(client: Client, path: str, username: str) -> HttpResponse:
    """Open the link, set NEW_PASSWORD and confirm the enrolment with a real TOTP code."""
    assert client.get(path)["Location"] == "/staff/invitation/"
    response = client.post(
        "/staff/invitation/", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert response["Location"] == "/staff/invitation/code/"
    assert client.get("/staff/invitation/code/").status_code == 200
    device = TOTPDevice.objects.get(user__username=username, confirmed=False)
    return client.post("/staff/invitation/code/", {"token": totp_code(device)})


def user(username: str) -> User:
    return User.objects.get(username=username)
