from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "madoguchi.api"
    label = "api"
    verbose_name = "API"

    def ready(self) -> None:
        from madoguchi.api.errors import service_unavailable_response
        from madoguchi.core.dbfailure import api_responder_register

        api_responder_register(service_unavailable_response)

        from madoguchi.api.webhooks.services import webhook_event_fan_out, webhook_subscribed
        from madoguchi.core.events import event_listen

        event_listen(webhook_event_fan_out, interested=webhook_subscribed)
