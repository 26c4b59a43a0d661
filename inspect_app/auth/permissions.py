"""Who may do what: the one place that answers "may this user do this to this object".

Every view and API endpoint carries an access marker (``public``, ``login_required`` or
``permission_required``); :func:`enforce_access` runs before each request and refuses any
endpoint without one, so a new route without a check fails closed (and fails the suite).
Object checks go through :func:`can`, which adds the department and county scope.
"""
from __future__ import annotations

from typing import Callable, Protocol

from flask import abort, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

ROLES: dict[str, object] = {
    "admin": _l("Administrator"),
    "registrar": _l("Licensing desk"),
    "planner": _l("Operation planner"),
    "inspector": _l("Field inspector"),
    "supervisor": _l("Supervisor"),
    "police_liaison": _l("Police liaison"),
    "viewer": _l("Viewer"),
}
ALL_ROLES = frozenset(ROLES)

# permission -> (roles that hold it, whether it is limited to the user's own department)
PERMISSIONS: dict[str, tuple[frozenset[str], bool]] = {
    "reference.view": (ALL_ROLES, False),
    "users.manage": (frozenset({"admin"}), False),
    "audit.view": (frozenset({"admin"}), False),
    "entities.view": (ALL_ROLES, False),
    # create covers both desk applications (which also need entities.edit) and inspectors
    # recording an unlicensed operator found in the field
    "entities.create": (frozenset({"admin", "registrar", "inspector", "supervisor"}), False),
    "entities.edit": (frozenset({"admin", "registrar"}), False),
    "entities.status": (frozenset({"admin", "registrar", "supervisor"}), False),
    "licences.edit": (frozenset({"admin", "registrar"}), False),
    "entities.import": (frozenset({"admin", "registrar"}), False),
    "registry.lists": (frozenset({"admin", "registrar", "supervisor"}), False),
    "sites.manage": (frozenset({"admin", "registrar"}), False),
    "blacklist.manage": (frozenset({"admin", "registrar", "supervisor"}), False),
    "checklists.view": (ALL_ROLES, False),
    # the full identity-card number behind a masked one (staff rosters), for police referrals
    "id_numbers.reveal": (frozenset({"police_liaison"}), False),
    "campaigns.view": (frozenset({"admin", "planner", "supervisor", "inspector", "viewer", "police_liaison"}),
                       False),
    "campaigns.plan": (frozenset({"admin", "planner"}), False),
    # field inspections: reading them (scoped to the county), working on them (team members only, checked
    # by the services), planning a single one by hand, amending a completed one (besides its team)
    "inspections.view": (frozenset({"admin", "planner", "supervisor", "inspector", "police_liaison"}), False),
    "inspections.work": (frozenset({"inspector"}), False),
    "inspections.create": (frozenset({"admin", "planner", "supervisor"}), False),
    "inspections.amend": (frozenset({"admin", "supervisor"}), False),
    "violations.view": (frozenset({"admin", "planner", "supervisor", "inspector", "police_liaison"}), False),
    # the facts of a suspected crime and its possible victims (besides the inspection's own team)
    "violations.restricted": (frozenset({"supervisor", "police_liaison"}), False),
    # the API page itself is public; this only decides who sees it in the navigation
    "api.docs": (frozenset({"admin", "planner"}), False),
}

PUBLIC = "__public__"
LOGIN = "__login__"


class Scoped(Protocol):
    """An object that belongs to a region and, optionally, to a department."""

    access_region_code: str | None
    access_department_code: str | None


def public(view: Callable) -> Callable:
    """Mark a view as open to anonymous users (login page, health, public verification)."""
    view._access = PUBLIC
    return view


def login_required(view: Callable) -> Callable:
    """Mark a view as open to any signed-in, active user."""
    view._access = LOGIN
    return view


def permission_required(permission: str) -> Callable[[Callable], Callable]:
    """Mark a view as needing ``permission`` (checked centrally before the request)."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        view._access = permission
        return view
    return decorator


def has_permission(user, permission: str) -> bool:
    """Role check only: whether the user holds ``permission`` at all."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    roles, _ = PERMISSIONS[permission]
    return bool(roles & set(user.roles))


def can(user, permission: str, obj: Scoped | None = None) -> bool:
    """Whether ``user`` may exercise ``permission`` on ``obj`` (role, county and department)."""
    if not has_permission(user, permission):
        return False
    if obj is None:
        return True
    reference = current_app.extensions["inspect_reference"]
    region = getattr(obj, "access_region_code", None)
    if region is not None and not reference.region_contains(user.region_code, region):
        return False
    _, department_scoped = PERMISSIONS[permission]
    department = getattr(obj, "access_department_code", None)
    if department_scoped and department is not None and department != user.department_code:
        return False
    return True


def authorize(permission: str, obj: Scoped | None = None) -> None:
    """Abort with 403 unless the current user may exercise ``permission`` on ``obj``."""
    if not can(current_user, permission, obj):
        abort(403)


def roles_without(permission: str) -> list[str]:
    """Roles that do not hold ``permission`` (used by the route-permission test)."""
    roles, _ = PERMISSIONS[permission]
    return sorted(ALL_ROLES - roles)


def access_marker(app, endpoint: str, method: str) -> str | None:
    """The access marker of the view that serves ``endpoint`` for ``method``."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        marker = getattr(handler, "_access", None)
        return marker or getattr(view_class, "_access", None)
    return getattr(view, "_access", None)


def enforce_access():
    """before_request hook: refuse the request unless the endpoint's marker allows it."""
    if request.endpoint is None or request.routing_exception is not None:
        return None  # 404/405: let Flask answer
    if request.method == "OPTIONS":
        return None
    marker = access_marker(current_app, request.endpoint, request.method)
    if marker is None:
        current_app.logger.error("endpoint %s has no access marker: refused", request.endpoint)
        abort(403)
    if marker == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_active:
        abort(403)
    if marker != LOGIN and not has_permission(current_user, marker):
        abort(403)
    return None
