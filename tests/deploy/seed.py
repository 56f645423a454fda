"""Fill a fresh database for the two-server test: 神戸市 with its staff, two published
procedures (one with a file field), and a signed-in staff session. Run as
``python -m tests.deploy.seed`` with the servers' environment (``DATABASE_URL`` of the private
cluster); prints the session key as JSON.
"""

from __future__ import annotations

import json
import os

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    django.setup()
    from django.conf import settings

    from tests.isolation import make_tenant, signed_in_client
    from tests.procedures.backoffice_fixtures import publish_catalogue

    kobe = make_tenant("281000", "kobe")
    publish_catalogue(kobe.municipality, "jido-teate", "welfare")
    publish_catalogue(kobe.municipality, "teigaku-kyufukin", "welfare")  # takes a file
    client = signed_in_client(kobe.staff["admin"])
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    print(json.dumps({"session": session_key}))


if __name__ == "__main__":
    main()
