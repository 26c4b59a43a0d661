"""Every registered route refuses anonymous users and wrong roles.

The table is built from the application's URL map, so a new route is covered the day it is
added; a route without an access marker fails ``test_every_route_declares_its_access``.
"""
from __future__ import annotations

import re

import pytest

from inspect_app import create_app
from inspect_app.auth.permissions import (ALL_ROLES, LOGIN, PERMISSIONS, PUBLIC, access_marker, can,
                                          roles_without)
from tests.conftest import APP_KEYS

pytestmark = pytest.mark.one_database  # access rules: the database does not change them

_app = create_app({**APP_KEYS, "TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})

# Routes that are meant for everyone; anything else must be refused to outsiders.
EXPECTED_PUBLIC = {
    ("static", "GET"),
    ("auth.login", "GET"), ("auth.login", "POST"),
    ("auth.set_language", "POST"),
    ("api_core.Health", "GET"),
    ("api_auth.Token", "POST"),
    ("api_docs.openapi_json", "GET"),
    ("api_docs.api_page", "GET"),
    # the tablets' service worker script: code and the field pages' paths, nothing of anyone's data
    ("inspection.service_worker", "GET"),
    # tip-offs (举报): anyone may report and follow a report by its tracking code
    ("tipoffs.report", "GET"), ("tipoffs.report", "POST"),
    ("tipoffs.status", "GET"), ("tipoffs.status", "POST"),
    ("api_tipoffs.TipOffs", "POST"), ("api_tipoffs.TipOffStatus", "GET"),
    # anyone holding a notice may check it (issue 7): no personal data on these pages
    ("verify.verify_form", "GET"), ("verify.verify", "GET"), ("verify.verify", "POST"),
    ("api_notices.Verify", "GET"), ("api_notices.Verify", "POST"),
    # 一公开: published campaigns and results (rate-limited; tests/test_publication.py)
    ("publication.index", "GET"), ("publication.campaign", "GET"), ("publication.results", "GET"),
    ("publication.results_csv", "GET"),
    ("api_publication.Results", "GET"), ("api_publication.ResultsCsv", "GET"), ("api_publication.Campaigns", "GET"),
    ("api_publication.CampaignItem", "GET"), ("api_publication.CampaignRecord", "GET"),
}


def _route_table():
    rows = []
    for rule in _app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule.rule)
            if rule.endpoint == "static":
                url = "/static/css/app.css"
            rows.append((rule.endpoint, method, url))
    return rows


ROUTES = _route_table()


def test_route_table_is_not_empty():
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert {"main.home", "admin.users", "audit.events", "api_auth.Me"} <= endpoints


@pytest.mark.parametrize("endpoint, method, url", ROUTES)
def test_every_route_declares_its_access(endpoint, method, url):
    marker = access_marker(_app, endpoint, method)
    assert marker is not None, f"{method} {url} ({endpoint}) has no access marker"
    assert marker in (PUBLIC, LOGIN) or marker in PERMISSIONS
    assert (marker == PUBLIC) == ((endpoint, method) in EXPECTED_PUBLIC), \
        f"{method} {url} public={marker == PUBLIC}: update EXPECTED_PUBLIC only if that is intended"


PROTECTED = [(e, m, u) for e, m, u in ROUTES if (e, m) not in EXPECTED_PUBLIC]


@pytest.mark.parametrize("endpoint, method, url", PROTECTED)
def test_anonymous_is_refused(client, endpoint, method, url):
    response = client.open(url, method=method, headers={"Accept": "application/json"})
    if url.startswith("/api/"):
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
    else:
        assert response.status_code in (302, 400)  # 400: the CSRF check runs before the login check
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/login")


WRONG_ROLE = [(e, m, u, roles_without(access_marker(_app, e, m))[0])
              for e, m, u in PROTECTED
              if access_marker(_app, e, m) not in (LOGIN, PUBLIC) and roles_without(access_marker(_app, e, m))]


@pytest.mark.parametrize("endpoint, method, url, role", WRONG_ROLE)
def test_wrong_role_is_refused(app, client, make_user, token_for, endpoint, method, url, role):
    username = make_user(roles=(role,), region="140600")
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    with app.app_context():
        name = db.session.get(User, username).username
    if url.startswith("/api/"):
        response = client.open(url, method=method, headers=token_for(name), json={})
        assert response.status_code == 403
        assert response.json["error"]["code"] == "forbidden"
    else:
        from tests.conftest import AuthActions, csrf_from
        AuthActions(client).login(name)
        data = {"csrf_token": csrf_from(client.get("/profile").data)} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403


def test_unmarked_route_is_refused(app, client, make_user, auth):
    """Deny by default: a view someone forgot to mark answers 403, even to an admin."""
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    make_user("root.admin", roles=("admin",), region="140600")
    auth.login("root.admin")
    assert client.get("/forgotten").status_code == 403


def test_every_permission_has_a_holder():
    for permission, (roles, _) in PERMISSIONS.items():
        assert roles and roles <= ALL_ROLES, permission


class _Thing:
    def __init__(self, region, department=None):
        self.access_region_code = region
        self.access_department_code = department


def test_county_scope(app, make_user):
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    county_admin = make_user("county.admin", roles=("admin",), region="140602")
    city_admin = make_user("city.admin", roles=("admin",), region="140600")
    with app.app_context():
        county, city = db.session.get(User, county_admin), db.session.get(User, city_admin)
        assert can(county, "users.manage", _Thing("140602"))
        assert not can(county, "users.manage", _Thing("140681"))
        assert can(city, "users.manage", _Thing("140681"))


def test_department_scope(app, make_user, monkeypatch):
    from inspect_app.auth import permissions
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    monkeypatch.setitem(permissions.PERMISSIONS, "cases.edit", (frozenset({"inspector"}), True))
    uid = make_user("hrss.one", roles=("inspector",), department="hrss", region="140602")
    with app.app_context():
        user = db.session.get(User, uid)
        assert can(user, "cases.edit", _Thing("140602", "hrss"))
        assert not can(user, "cases.edit", _Thing("140602", "culture"))
        assert not can(user, "cases.edit", _Thing("140681", "hrss"))


def test_inactive_user_has_no_permissions(app, make_user):
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    uid = make_user("gone.admin", roles=("admin",), region="140600")
    with app.app_context():
        user = db.session.get(User, uid)
        user.is_active = False
        assert not can(user, "users.manage")
        db.session.rollback()
