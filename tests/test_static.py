"""The stylesheets every page links to are served (a page without them is unusable)."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.mark.django_db
def test_every_stylesheet_linked_from_a_page_is_served() -> None:
    page = Client().get("/")
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.content.decode())
    assert "/static/madoguchi/css/madoguchi.css" in links
    assert "/static/madoguchi/css/tokens.css" in links
    for href in links:
        response = Client().get(href)
        assert response.status_code == 200, href
        assert b"--" in b"".join(response.streaming_content)  # custom properties are there
