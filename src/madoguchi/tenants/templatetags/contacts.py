"""Contact points in templates: ``{% contact_point municipality "sodai_gomi" %}`` and the
``with_contacts`` filter for text holding ``{contact:key}``.

A key the municipality has not set renders nothing (the tag) or a neutral phrase (the filter).
"""

from __future__ import annotations

from typing import Any

from django import template

from madoguchi.tenants.contacts import contact_point_get, contacts_substitute
from madoguchi.tenants.models import Municipality

register = template.Library()


@register.inclusion_tag("tenants/_contact_point.html")
def contact_point(municipality: Municipality, key: str, heading: str = "") -> dict[str, Any]:
    """The contact point's name, phone (a tel: link), hours, e-mail and page, or nothing.

    ``heading`` is shown above it as a level-2 heading, only when the contact point is set.
    """
    return {"contact": contact_point_get(municipality=municipality, key=key), "heading": heading}


@register.filter
def with_contacts(text: str, municipality: Municipality) -> str:
    """``text`` with each ``{contact:key}`` replaced by the contact point (plain text)."""
    return contacts_substitute(str(text), municipality=municipality)
