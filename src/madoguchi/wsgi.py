"""WSGI entry point: ``granian --interface wsgi madoguchi.wsgi:application``.

Django's handler, behind the status lookup's short path (``madoguchi.api.status_path``).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")

django_application = get_wsgi_application()

from madoguchi.api.status_path import with_status_short_path  # noqa: E402 - needs django.setup()

application = with_status_short_path(django_application)
