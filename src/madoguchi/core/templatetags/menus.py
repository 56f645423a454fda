"""Menus for templates, from the registry in :mod:`madoguchi.core.menus`."""

from __future__ import annotations

from typing import Any

from django import template

from madoguchi.core import menus

register = template.Library()


@register.simple_tag
def staff_menu(staff: Any) -> list[menus.MenuSection]:
    """The staff member's menu by section; empty when ``staff`` is not a StaffContext."""
    if staff is None or not hasattr(staff, "memberships"):
        return []
    return menus.staff_sections(staff)


@register.simple_tag
def platform_menu(user: Any) -> list[menus.MenuLink]:
    """The operator pages ``user`` may open, only once both sign-in steps are done."""
    verified = getattr(user, "is_verified", None)
    if not (getattr(user, "is_authenticated", False) and callable(verified) and verified()):
        return []
    return menus.platform_entries(user)


@register.simple_tag
def public_services(municipality: Any) -> list[menus.PublicService]:
    return menus.public_services(municipality)
