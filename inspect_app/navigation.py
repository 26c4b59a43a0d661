"""Navigation by role: each entry names its endpoint and the permission that shows it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_babel import lazy_gettext as _l

from .auth.permissions import LOGIN, has_permission


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    description: object
    permission: str


# Areas add their entries here as they land (registry, planning, inspections, cases ...).
NAV_ITEMS = [
    NavItem("main.home", _l("Home"), _l("Your work at a glance"), LOGIN),
    NavItem("inspection.today", _l("Today"), _l("Your inspections today, in route order"), "inspections.work"),
    NavItem("registry.entities", _l("Registry"), _l("Agencies and venues, licences, statuses"), "entities.view"),
    NavItem("checklist.index", _l("Checklists"), _l("What inspectors check, with the legal basis and penalties"),
            "checklists.view"),
    NavItem("planning.campaigns", _l("Campaigns"), _l("Double-random draws, teams and routes"), "campaigns.view"),
    NavItem("inspection.new", _l("New inspection"), _l("A single inspection by hand, with its team and date"),
            "inspections.create"),
    NavItem("cases.index", _l("Cases"), _l("Rectification, re-inspection, penalties, transfers and their deadlines"),
            "cases.view"),
    NavItem("cases.referral_inbox", _l("Referrals"), _l("Cases and victims referred to your department"),
            "referrals.receive"),
    NavItem("tipoffs.triage_list", _l("Tip-offs"), _l("Citizens' reports: triage, inspections, rewards"),
            "tipoffs.triage"),
    NavItem("notices.index", _l("Notices"), _l("Numbered enforcement documents, verifiable by anyone"),
            "notices.view"),
    NavItem("publication.index", _l("Published results"), _l("What the public sees of campaigns (一公开)"),
            "campaigns.view"),
    NavItem("admin.users", _l("Users"), _l("Accounts, roles and scopes"), "users.manage"),
    NavItem("audit.events", _l("Audit log"), _l("Every change, hash-chained"), "audit.view"),
    NavItem("api_docs.api_page", _l("API"), _l("HTTP API v1 reference"), "api.docs"),
]


def home_url_for(user) -> str:
    """Where signing in lands: today's route for a field inspector, the home page for everyone else."""
    if "inspector" in (getattr(user, "roles", None) or ()) and has_permission(user, "inspections.work"):
        return url_for("inspection.today")
    return url_for("main.home")


def navigation_for(user) -> list[dict]:
    """The entries this user may open, with their URLs."""
    items = []
    for item in NAV_ITEMS:
        if item.permission == LOGIN or has_permission(user, item.permission):
            items.append({"url": url_for(item.endpoint), "label": item.label,
                          "description": item.description, "endpoint": item.endpoint})
    return items
