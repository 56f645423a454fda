from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "madoguchi.messaging"
    label = "messaging"
    verbose_name = _("お知らせ配信")
