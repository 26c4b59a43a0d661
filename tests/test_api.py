"""API base: tokens, JSON errors in the design.md 4.2 shape, reference data, OpenAPI."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from inspect_app.auth.models import ApiToken
from inspect_app.extensions import db
from inspect_app.util import now_utc
from tests.conftest import DEMO_PASSWORD, AuthActions, csrf_from


def _error(response, status, code=None):
    assert response.status_code == status, response.data
    assert response.is_json, response.data[:200]
    body = response.json
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_health(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_token_round_trip(client, make_user):
    make_user("tablet.user")
    response = client.post("/api/v1/auth/token", json={"username": "tablet.user", "password": DEMO_PASSWORD})
    assert response.status_code == 201
    token = response.json["token"]
    assert len(token) >= 40 and response.json["expires_at"].endswith("+00:00")
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["username"] == "tablet.user" and me.json["roles"] == ["inspector"]
    assert "password" not in str(me.json)


def test_token_is_stored_hashed(app, client, make_user, token_for):
    make_user("hashed.token")
    header = token_for("hashed.token")
    token = header["Authorization"].split()[1]
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken.token_hash))
    assert token not in stored and len(stored) == 64


def test_wrong_password_401(client, make_user):
    make_user("api.wrong")
    error = _error(client.post("/api/v1/auth/token", json={"username": "api.wrong", "password": "nope-nope"}),
                   401, "invalid_credentials")
    assert error["message"] == "用户名或密码错误。"


def test_locked_account_429(app, client, make_user):
    make_user("api.locked")
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        client.post("/api/v1/auth/token", json={"username": "api.locked", "password": "bad-password"})
    _error(client.post("/api/v1/auth/token", json={"username": "api.locked", "password": "bad-password"}),
           429, "account_locked")
    _error(client.post("/api/v1/auth/token", json={"username": "api.locked", "password": DEMO_PASSWORD}),
           429, "account_locked")


def test_expired_token_401(app, client, make_user, token_for):
    make_user("api.expired")
    header = token_for("api.expired")
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(expires_dt=now_utc() - timedelta(seconds=1)))
        db.session.commit()
    _error(client.get("/api/v1/auth/me", headers=header), 401, "unauthorized")


def test_revoked_token_401(client, make_user, token_for):
    make_user("api.revoke")
    header = token_for("api.revoke")
    assert client.delete("/api/v1/auth/token", headers=header).status_code == 204
    _error(client.get("/api/v1/auth/me", headers=header), 401)


def test_garbage_token_401(client):
    response = client.get("/api/v1/regions", headers={"Authorization": "Bearer not-a-token"})
    _error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_deactivated_user_token_stops_working(app, client, make_user, token_for):
    uid = make_user("api.leaver")
    header = token_for("api.leaver")
    with app.app_context():
        from inspect_app.auth.models import User
        from inspect_app.auth.services import update_user
        update_user(db.session.get(User, uid), {"is_active": False})
        db.session.commit()
    _error(client.get("/api/v1/auth/me", headers=header), 401)


@pytest.mark.parametrize("body", ['{"username": "x",', "not json at all", "[1, 2", "\xff\xfe"])
def test_malformed_json_is_400_not_500(client, body):
    response = client.post("/api/v1/auth/token", data=body.encode("latin-1"), content_type="application/json")
    error = _error(response, 400, "bad_request")
    assert error["message"] == "请求正文不是有效的 JSON。"


def test_missing_fields_are_named(client):
    error = _error(client.post("/api/v1/auth/token", json={"username": "someone"}), 422, "validation_error")
    assert error["fields"] == {"password": ["此项为必填项。"]}


def test_wrong_types_and_unknown_fields(client):
    error = _error(client.post("/api/v1/auth/token", json={"username": 5, "password": "x", "extra": 1}), 422)
    assert error["fields"]["username"] == ["必须是文本。"]
    assert error["fields"]["extra"] == ["未知字段。"]


def test_errors_follow_accept_language(client):
    error = _error(client.post("/api/v1/auth/token", json={}, headers={"Accept-Language": "en-GB,en;q=0.9"}), 422)
    assert error["fields"]["username"] == ["This field is required."]


def test_unknown_api_path_is_json_404(client):
    _error(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    _error(client.put("/api/v1/health"), 405, "method_not_allowed")


def test_reference_endpoints(client, make_user, token_for):
    make_user("ref.reader", roles=("viewer",))
    header = token_for("ref.reader")
    departments = client.get("/api/v1/departments", headers=header).json
    assert departments["total"] == 6 and departments["page"] == 1
    assert {d["code"] for d in departments["items"]} >= {"hrss", "samr", "culture", "police"}
    regions = client.get("/api/v1/regions", headers=header).json
    assert {r["code"]: r["name_zh"] for r in regions["items"]}["140681"] == "怀仁市"
    kinds = client.get("/api/v1/kinds", headers=header).json
    assert set(kinds) == {"items", "total", "page", "per_page"}


@pytest.mark.parametrize("path, total", [("/api/v1/departments", 6), ("/api/v1/regions", 7)])
def test_reference_endpoints_take_page_and_per_page(client, make_user, token_for, path, total):
    make_user("ref.pager", roles=("viewer",))
    header = token_for("ref.pager")
    everything = client.get(path, headers=header).json
    assert everything["total"] == total and len(everything["items"]) == total
    codes = [item["code"] for item in everything["items"]]
    pages = [client.get(f"{path}?per_page=4&page={n}", headers=header).json for n in (1, 2, 3)]
    assert [(p["page"], p["per_page"], p["total"]) for p in pages] == [(1, 4, total), (2, 4, total), (3, 4, total)]
    assert [item["code"] for p in pages for item in p["items"]] == codes  # the pages cut the list, in order
    assert pages[2]["items"] == []  # past the end: empty, not an error


def test_kinds_take_page_and_per_page(client, make_user, token_for):
    make_user("ref.kinds", roles=("viewer",))
    header = token_for("ref.kinds")
    everything = client.get("/api/v1/kinds", headers=header).json
    assert everything["total"] >= 2
    second = client.get("/api/v1/kinds?per_page=1&page=2", headers=header).json
    assert second["items"] == everything["items"][1:2] and second["total"] == everything["total"]


@pytest.mark.parametrize("query, field", [("per_page=0", "per_page"), ("per_page=1000", "per_page"),
                                          ("page=0", "page"), ("page=first", "page")])
def test_reference_paging_refuses_bad_values_per_field(client, make_user, token_for, query, field):
    make_user("ref.bad", roles=("viewer",))
    response = client.get(f"/api/v1/regions?{query}", headers=token_for("ref.bad"))
    error = _error(response, 422, "validation_error")
    assert field in error["fields"]


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/v1/health", "/api/v1/auth/token", "/api/v1/auth/me", "/api/v1/departments",
                 "/api/v1/regions", "/api/v1/kinds"):
        assert path in paths, path
    assert paths["/api/v1/health"]["get"]["security"] == []
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Error" in spec["components"]["schemas"]
    assert "422" in paths["/api/v1/auth/token"]["post"]["responses"]


def test_api_page_is_readable_without_cdn(client):
    page = client.get("/api/docs").data.decode()
    assert "/api/v1/auth/token" in page and "接口说明" in page
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page


def test_session_api_write_needs_csrf(client, make_user):
    """A browser session may call the API, but a write must carry the CSRF token."""
    make_user("web.user")
    AuthActions(client).login("web.user")
    assert client.get("/api/v1/auth/me").status_code == 200
    _error(client.delete("/api/v1/auth/token"), 400)
    token = csrf_from(client.get("/profile").data)
    response = client.delete("/api/v1/auth/token", headers={"X-CSRFToken": token})
    _error(response, 400, "no_token")  # passed CSRF, then refused for a different reason


def test_bearer_wins_over_session_cookie(client, make_user, token_for):
    make_user("cookie.user")
    make_user("bearer.user")
    AuthActions(client).login("cookie.user")
    header = token_for("bearer.user")
    assert client.get("/api/v1/auth/me", headers=header).json["username"] == "bearer.user"


def test_token_cache_serves_repeat_requests_and_honours_revocation(app, client, make_user, token_for):
    """With the per-worker cache on, a repeat request needs no query; a revocation here is immediate;
    a change made by another worker is seen once the entry ages out."""
    from inspect_app.auth.security import token_cache
    app.config["API_TOKEN_CACHE_SECONDS"] = 60
    token_cache.clear()
    uid = make_user("cached.user")
    header = token_for("cached.user")
    assert client.get("/api/v1/auth/me", headers=header).status_code == 200
    statements = []
    from sqlalchemy import event
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))
    assert client.get("/api/v1/auth/me", headers=header).json["username"] == "cached.user"
    assert statements == []
    # another worker revoked it directly in the database: this worker still trusts it until expiry
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(revoked_dt=now_utc()))
        db.session.commit()
    assert client.get("/api/v1/auth/me", headers=header).status_code == 200
    app.config["API_TOKEN_CACHE_SECONDS"] = 60
    token_cache._entries = {k: (0, *v[1:]) for k, v in token_cache._entries.items()}  # the entry ages out
    _error(client.get("/api/v1/auth/me", headers=header), 401)
    # a revocation through this process evicts at once
    header2 = token_for("cached.user")
    assert client.get("/api/v1/auth/me", headers=header2).status_code == 200
    with app.app_context():
        from inspect_app.auth.models import User
        from inspect_app.auth.services import update_user
        update_user(db.session.get(User, uid), {"is_active": False})
        db.session.commit()
    _error(client.get("/api/v1/auth/me", headers=header2), 401)
    token_cache.clear()


def test_geocode_from_the_offline_gazetteer(client, make_user, token_for):
    make_user("geo.user", roles=("registrar",))
    header = token_for("geo.user")
    found = client.get("/api/v1/geocode?address=怀仁市云中镇仁和路12号&region_code=140681", headers=header).json
    assert found["result"]["source"] == "gazetteer" and found["result"]["region_code"] == "140681"
    assert 39.5 < found["result"]["lat"] < 40.1
    nothing = client.get("/api/v1/geocode?address=火星基地", headers=header).json
    assert nothing["result"] is None and "请手工填写坐标" in nothing["message"]
