from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsultationConfig(AppConfig):
    name = "madoguchi.consultation"
    label = "consultation"
    verbose_name = _("相談アシスタント")
