"""The municipality an API call is about: ``/api/v1/<municipality-slug>/...``."""

from __future__ import annotations

import re
from http import HTTPStatus

from django.utils.translation import gettext as _

from madoguchi.api.errors import ApiError, ApiErrorCode
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.selectors import municipality_get_active

__all__ = ["municipality_or_404"]

# Slugs are checked before the database sees them: PostgreSQL refuses NUL in text, for one.
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,40}")


def municipality_or_404(slug: str) -> Municipality:
    """The served municipality with this slug, or ApiError 404 ``municipality_not_found``."""
    municipality = municipality_get_active(slug=slug) if _SLUG.fullmatch(slug) else None
    if municipality is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ApiErrorCode.MUNICIPALITY_NOT_FOUND,
            _("この自治体のオンライン窓口はありません。URLをご確認ください。"),
        )
    return municipality
