from django.apps import AppConfig


class FieldCryptoConfig(AppConfig):
    """A test-only app with encrypted fields (installed when MADOGUCHI_ENV=test)."""

    name = "tests.fieldcrypto"
    label = "fieldcrypto"
