"""The JSON API: one NinjaAPI assembled from each domain app's ``api.py`` router.

``madoguchi.api.api`` builds the instance, ``madoguchi.api.errors`` holds the one error shape
and its stable codes, and ``madoguchi.api.urls`` mounts it under ``/api/``.
"""
