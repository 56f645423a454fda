from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "madoguchi.sso"
    label = "sso"
    verbose_name = "シングルサインオン"
