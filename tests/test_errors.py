"""Error pages in both languages; never an HTML error under /api/."""
import pytest


@pytest.mark.parametrize("lang, text", [("zh-CN", "页面不存在"), ("en", "Page not found")])
def test_404_page(client, lang, text):
    response = client.get("/no/such/page", headers={"Accept-Language": lang})
    assert response.status_code == 404 and text in response.data.decode()


@pytest.mark.parametrize("lang, text", [("zh-CN", "无权访问"), ("en", "Access denied")])
def test_403_page(client, make_user, lang, text):
    from tests.conftest import AuthActions
    make_user("no.admin")
    AuthActions(client).login("no.admin")
    response = client.get("/admin/users", headers={"Accept-Language": lang})
    assert response.status_code == 403 and text in response.data.decode()


@pytest.mark.parametrize("lang, text", [("zh-CN", "服务器错误"), ("en", "Server error")])
def test_500_page(app, client, lang, text):
    from inspect_app.auth.permissions import public

    @public
    def boom():
        raise RuntimeError("kaboom")
    app.add_url_rule("/boom", "boom", boom)
    app.add_url_rule("/api/v1/boom", "api_boom", boom)
    app.config["RAISE_ERRORS"] = False
    response = client.get("/boom", headers={"Accept-Language": lang})
    assert response.status_code == 500 and text in response.data.decode()
    assert "kaboom" not in response.data.decode()
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.json["error"]["code"] == "internal_error"


def test_security_headers(client):
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_oversized_upload_is_json_413(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/v1/auth/token", data=b"x" * 5000, content_type="application/json")
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
