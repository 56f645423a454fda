"""The health-centre links of the staff console's front page, for health-centre staff only.

The console page belongs to the platform (``tenants``), which imports no domain app; it loads
this tag library instead, and the tag asks :mod:`madoguchi.surveillance.selectors`.
"""

from __future__ import annotations

from typing import Any

from django import template

from madoguchi.accounts.permissions import StaffContext
from madoguchi.surveillance import selectors
from madoguchi.tenants.models import Municipality

register = template.Library()


@register.inclusion_tag("surveillance/_console_links.html")
def health_centre_links(municipality: Municipality, staff: StaffContext) -> dict[str, Any]:
    """List items linking to the case list, the worklist and the counts, or nothing."""
    wide = any(m.department_id is None for m in staff.memberships)
    member = selectors.is_centre_member(
        municipality=municipality,
        user_id=staff.user.pk,
        departments=None if wide else staff.departments,
    )
    return {"municipality": municipality, "show": member}
