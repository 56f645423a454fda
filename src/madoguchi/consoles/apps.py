from django.apps import AppConfig


class ConsolesConfig(AppConfig):
    name = "madoguchi.consoles"
    label = "consoles"
    verbose_name = "管理画面"
