"""Chinese first, English second; every visible string is in the catalogue."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import AuthActions, csrf_from

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "inspect_app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
METHODS = [("**.py", "python"), ("**.html", "jinja2")]


def _source_messages(visited: set | None = None) -> set[str]:
    found = set()
    for directory in ("inspect_app", "templates"):
        def seen(filename, method, options, directory=directory):
            if visited is not None:
                visited.add((ROOT / directory / filename).resolve())
        for _file, _line, message, _comments, _context in extract_from_dir(
                ROOT / directory, METHODS, keywords=KEYWORDS, options_map={"**.html": {}}, callback=seen):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_extraction_reaches_every_template():
    """Babel skips directories whose names start with '_' or '.': no template may hide there."""
    visited: set = set()
    _source_messages(visited)
    templates = {p.resolve() for p in (ROOT / "templates").rglob("*.html")}
    assert templates and templates <= visited, sorted(str(p) for p in templates - visited)


def test_every_source_string_has_a_chinese_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    source = _source_messages()
    missing = sorted(source - set(translated))
    assert not missing, f"not in messages.po (run `make extract-messages` and translate): {missing}"

    def untranslated(message) -> bool:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        return not all(forms) or "fuzzy" in message.flags  # a plural's empty msgstr[0] shows English
    empty = sorted(k for k in source if untranslated(translated[k]))
    assert not empty, f"untranslated or fuzzy: {empty}"


def test_default_is_chinese(client):
    html = client.get("/login").data.decode()
    assert '<html lang="zh-CN">' in html and "登录" in html


def test_accept_language_english(client):
    html = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).data.decode()
    assert '<html lang="en">' in html and "Sign in" in html and "登录" not in html.split("<footer")[0]


def test_accept_language_prefers_first_supported(client):
    html = client.get("/login", headers={"Accept-Language": "fr-FR,zh-TW;q=0.8,en;q=0.5"}).data.decode()
    assert '<html lang="zh-CN">' in html


def test_switch_language_as_visitor(client):
    page = client.get("/login")
    response = client.post("/language", data={"csrf_token": csrf_from(page.data), "locale": "en",
                                              "next": "/login"})
    assert response.headers["Location"] == "/login"
    assert '<html lang="en">' in client.get("/login").data.decode()


def test_user_preference_beats_browser(app, client, make_user):
    make_user("english.speaker", locale="en")
    AuthActions(client).login("english.speaker")
    html = client.get("/", headers={"Accept-Language": "zh-CN"}).data.decode()
    assert '<html lang="en">' in html and "Welcome, english.speaker" in html


def test_switch_is_stored_on_the_account(app, make_user):
    make_user("switcher")
    first, second = app.test_client(), app.test_client()
    AuthActions(first).login("switcher")
    page = first.get("/profile")
    first.post("/language", data={"csrf_token": csrf_from(page.data), "locale": "en", "next": "/profile"})
    AuthActions(second).login("switcher")  # another device: the preference follows the account
    assert '<html lang="en">' in second.get("/").data.decode()


def test_unknown_locale_is_refused(client):
    page = client.get("/login")
    client.post("/language", data={"csrf_token": csrf_from(page.data), "locale": "xx"})
    assert '<html lang="zh-CN">' in client.get("/login").data.decode()


def test_role_and_department_names_follow_locale(client, make_user):
    make_user("bilingual", roles=("registrar",), department="samr")
    AuthActions(client).login("bilingual")
    zh = client.get("/").data.decode()
    assert "登记窗口" in zh and "朔州市市场监督管理局" in zh and "朔城区" in zh
    en = client.get("/", headers={"Accept-Language": "en"}).data.decode()
    assert "Licensing desk" in en and "Shuozhou Administration for Market Regulation" in en
    assert "Shuocheng District" in en and "登记窗口" not in en


def test_translated_strings_escape_their_parameters(client, make_user):
    make_user("markup.name", full_name="<b>李</b><script>alert(1)</script>")
    AuthActions(client).login("markup.name")
    html = client.get("/").data.decode()
    assert "<script>alert(1)</script>" not in html
    assert "欢迎，&lt;b&gt;李&lt;/b&gt;" in html
