from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "madoguchi.tenants"
    label = "tenants"
    verbose_name = "自治体"
