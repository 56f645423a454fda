from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    label = "core"
    verbose_name = "基盤"

    def ready(self) -> None:
        from madoguchi.core.readonly import install_write_guard

        # Every connection refuses writes while read-only mode is on (core/readonly.py).
        connection_created.connect(install_write_guard, dispatch_uid="madoguchi-read-only-guard")
        # Every app's menu entries (``<app>/menu.py``) into the one registry of core.menus.
        autodiscover_modules("menu")
