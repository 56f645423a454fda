"""Factories for municipalities, staff and authenticators beyond the isolation kit.

Rows made here bypass the services on purpose, so that they write no audit entries and tests
of the audit log start from an empty chain.
"""

from __future__ import annotations

from typing import Any

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.core.checkdigits import lgcode_with_check_digit
from madoguchi.tenants.models import Municipality
from tests.isolation import PASSWORD


class MunicipalityFactory(factory.django.DjangoModelFactory):
    """A served municipality with a valid (made-up) code; no audit entry is written."""

    class Meta:
        model = Municipality
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: lgcode_with_check_digit(f"{90000 + n:05d}"))
    name = factory.Sequence(lambda n: f"テスト市{n}")
    slug = factory.Sequence(lambda n: f"test-city-{n}")
    is_active = True


class UserFactory(factory.django.DjangoModelFactory):
    """A staff account whose password is the kit's PASSWORD (or ``password=...``)."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"staff-{n}")

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        password = kwargs.pop("password", PASSWORD)
        user = model_class(*args, **kwargs)
        user.set_password(password)
        user.save()
        return user


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    """A confirmed authenticator, as after enrolment."""

    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "phone"
    confirmed = True
