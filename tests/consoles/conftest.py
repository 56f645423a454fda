"""Fixtures of the console tests: an operator, and the loopback SMTP server."""

from __future__ import annotations

import pytest
from django.test import Client

from madoguchi.accounts.models import User
from madoguchi.accounts.services import staff_user_create
from tests.isolation import PASSWORD, signed_in_client
from tests.procedures.test_submit import smtp_server

__all__ = ["smtp_server"]  # the loopback SMTP server fixture of the procedures tests


@pytest.fixture
def operator(db: None) -> User:
    user = staff_user_create(username="operator", password=PASSWORD)
    user.is_superuser = user.is_staff = True
    user.save(update_fields=["is_superuser", "is_staff"])
    return user


@pytest.fixture
def operator_client(operator: User) -> Client:
    return signed_in_client(operator)
