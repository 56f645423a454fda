from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    label = "core"
    verbose_name = "基盤"

    def ready(self) -> None:
        # Every app's menu entries (``<app>/menu.py``) into the one registry of core.menus.
        autodiscover_modules("menu")
