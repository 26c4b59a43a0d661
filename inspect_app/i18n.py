"""Locale selection: the user's preference, then the session's choice, then Accept-Language;
Simplified Chinese when nothing else decides."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .extensions import babel

DEFAULT_LOCALE = "zh_CN"


def supported_locales() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def normalise_locale(value: str | None) -> str | None:
    """Map 'zh', 'zh-CN', 'zh_Hans' ... and 'en-GB' ... onto the supported locales."""
    if not value:
        return None
    value = value.replace("-", "_")
    primary = value.split("_")[0].lower()
    for locale in supported_locales():
        if locale.lower() == value.lower() or locale.split("_")[0].lower() == primary:
            return locale
    return None


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        found = normalise_locale(current_user.locale)
        if found:
            return found
    found = normalise_locale(session.get("locale"))
    if found:
        return found
    for lang, _quality in request.accept_languages:
        found = normalise_locale(lang)
        if found:
            return found
    return DEFAULT_LOCALE


def html_lang() -> str:
    """The BCP 47 tag for <html lang> ('zh-CN' or 'en')."""
    locale = get_locale()
    return f"{locale.language}-{locale.territory}" if locale.territory else locale.language


def _locale() -> str:
    return str(get_locale())


def department_name(code: str | None) -> str:
    department = current_app.extensions["inspect_reference"].departments.get(code or "")
    return department.name(_locale()) if department else (code or "—")


def department_short(code: str | None) -> str:
    department = current_app.extensions["inspect_reference"].departments.get(code or "")
    return department.short(_locale()) if department else (code or "—")


def region_name(code: str | None) -> str:
    region = current_app.extensions["inspect_reference"].regions.get(code or "")
    return region.name(_locale()) if region else (code or "—")


def kind_name(code: str | None) -> str:
    kind = current_app.extensions["inspect_reference"].kinds.get(code or "")
    return kind.name(_locale()) if kind else (code or "—")


DECISION_LABELS = {"pass": _l("Pass"), "warn": _l("Warning"), "block": _l("Blocked")}


def decision_label(code: str) -> str:
    return str(DECISION_LABELS.get(code, code))


CAMPAIGN_STATUS_LABELS = {"draft": _l("Draft"), "committed": _l("Committed"), "drawn": _l("Drawn"),
                          "published": _l("Published"), "in_progress": _l("In progress"), "closed": _l("Closed")}


def campaign_status_label(code: str) -> str:
    return str(CAMPAIGN_STATUS_LABELS.get(code, code))


def role_label(code: str) -> str:
    from .auth.permissions import ROLES
    return str(ROLES.get(code, code))


def init_i18n(app) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(html_lang=html_lang, department_name=department_name,
                                 department_short=department_short, kind_name=kind_name,
                                 decision_label=decision_label, campaign_status_label=campaign_status_label,
                                 region_name=region_name, role_label=role_label)
    # Babel canonicalises zh_CN to zh_Hans_CN, so that is the catalogue's directory name.
    directory = Path(app.root_path) / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
    if not (directory / "messages.mo").exists():
        app.logger.warning("Chinese catalogue not compiled (%s): run `make` or "
                           "`pybabel compile -d inspect_app/translations`", directory)
