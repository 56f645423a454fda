"""Settings for benchmark servers only: the product's settings plus a bare baseline view.

Used as ``DJANGO_SETTINGS_MODULE=bench.settings`` by ``bench/status_and_submit.py``, with the
project root on ``PYTHONPATH``. Nothing here is loaded by the product or its tests.
"""

from madoguchi.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
