"""Who may do what: each kind of organisation may do only its job.

Every refusal is an AccessDenied with a stable code: ``KIND_NOT_ALLOWED`` (the kind never may),
``REGION_NOT_OWN`` (a risk authority outside its region), ``FEED_NOT_OWN`` (another province's
feed), ``CODE_NOT_OWN`` (a status report for a person registered elsewhere).

>>> from healthcode.hub.orgs import Principal
from healthcode.store.models import ORG_KINDS
>>> lab = Principal(org_id=1, kind="lab", region_code="440106", name="GZ lab")
>>> require(lab, "submit:nat")
>>> require(lab, "submit:vaccination")
Traceback (most recent call last):
...
healthcode.core.errors.AccessDenied: KIND_NOT_ALLOWED: a lab may not submit:vaccination
"""

from __future__ import annotations

from healthcode.core import regions
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import AccessDenied
from healthcode.hub.orgs import Principal
from healthcode.store.models import ORG_KINDS

__all__ = ["ACTIONS", "PERMISSIONS", "require", "require_own_feed", "require_within_region"]

#: action -> the kinds of organisation that may do it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "submit:nat": frozenset({"lab"}),
    "submit:antibody": frozenset({"lab"}),
    "submit:vaccination": frozenset({"vaccination"}),
    "submit:infection": frozenset({"disease-control"}),
    "submit:contact": frozenset({"disease-control"}),
    "submit:itinerary": frozenset({"itinerary"}),
    "risk-area:designate": frozenset({"risk-authority"}),
    "record:withdraw-held": frozenset({"province"}),
    "feed:read": frozenset({"province"}),
    "registration:report": frozenset({"province"}),
    "status:report": frozenset({"province"}),
    "grid:handover": frozenset({"province"}),
    "status:query": frozenset({"checkpoint", "province"}),
    "published:read": frozenset(ORG_KINDS),
}
ACTIONS = tuple(PERMISSIONS)


def require(principal: Principal, action: str) -> None:
    """Raises AccessDenied KIND_NOT_ALLOWED unless ``principal``'s kind may do ``action``."""
    if principal.kind not in PERMISSIONS[action]:
        raise AccessDenied(
            ErrorCode.KIND_NOT_ALLOWED, f"a {principal.kind} may not {action}", action=action
        )


def require_within_region(principal: Principal, region_code: str) -> None:
    """Raises AccessDenied REGION_NOT_OWN unless ``region_code`` lies in the caller's region."""
    own = principal.region_code
    if region_code != own and not regions.is_within(region_code, own):
        raise AccessDenied(
            ErrorCode.REGION_NOT_OWN,
            f"region {region_code} is outside the authority's region {own}",
            region_code=region_code,
        )


def require_own_feed(principal: Principal, province: str) -> None:
    """Raises AccessDenied FEED_NOT_OWN unless ``province`` is the caller's own."""
    if principal.province != province:
        raise AccessDenied(
            ErrorCode.FEED_NOT_OWN,
            f"province {principal.province} may not read the feed of {province}",
        )
