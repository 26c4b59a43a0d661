"""Joint inspection of job agencies, marriage agencies and entertainment venues."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from .config import PROJECT_ROOT, load_config

__all__ = ["create_app"]


def create_app(config: dict | None = None) -> Flask:
    """Application factory; ``config`` overrides values read from the environment."""
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                instance_path=str(PROJECT_ROOT / "instance"))
    config = dict(config or {})
    environ = dict(os.environ)
    # tests and embedders pass keys instead of the environment
    for key, variable in (("SECRET_KEY", "SECRET_KEY"), ("ID_HMAC_KEY", "INSPECT_ID_HMAC_KEY"),
                          ("ID_ENCRYPTION_KEY", "INSPECT_ID_ENCRYPTION_KEY")):
        if key in config:
            environ[variable] = config[key]
    app.config.update(load_config(environ))
    app.config.update(config)
    register_reference_data(app)
    register_extensions(app)
    register_i18n(app)
    register_security(app)
    register_assets(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_lifecycle(app)
    register_commands(app)
    return app


def register_reference_data(app: Flask) -> None:
    from .reference import ReferenceData
    from .registry import geo
    from .checklist.loader import load_catalogue
    app.extensions["inspect_reference"] = ReferenceData(app.config["REGISTRIES_DIR"])
    # checklists/ refers to kinds and departments: a bad file stops start-up like a bad registry
    app.extensions["inspect_checklists"] = load_catalogue(app.config["CHECKLISTS_DIR"],
                                                          app.extensions["inspect_reference"])
    geo.init_app(app)  # a bad gazetteer or geocoder setting stops start-up too
    geo.geocoder_settings(app.config)
    from .notices.config import load_notice_settings
    app.extensions["inspect_notices"] = load_notice_settings(app.config["REGISTRIES_DIR"],
                                                             app.extensions["inspect_reference"].departments)


def register_extensions(app: Flask) -> None:
    from .audit.services import install_audit_listeners
    from .extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    # Only the sign-in routes have limits and their decorators check them; the extension's
    # per-request middleware check cost ~0.1 ms on every request for nothing (bench/README.md).
    if limiter._check_request_limit in app.before_request_funcs.get(None, []):
        app.before_request_funcs[None].remove(limiter._check_request_limit)
    login_manager.init_app(app)
    install_audit_listeners(db.session.session_factory.class_)
    from .sqlite import configure_engine
    with app.app_context():
        for engine in db.engines.values():
            configure_engine(engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS", 10_000))
    from . import models  # noqa: F401  - every model registered before migrations compare


def register_i18n(app: Flask) -> None:
    from .i18n import init_i18n
    init_i18n(app)


def register_security(app: Flask) -> None:
    from .auth.security import init_security
    init_security(app)


def register_assets(app: Flask) -> None:
    from .assets import init_assets
    init_assets(app)


def register_blueprints(app: Flask) -> None:
    from .admin.views import bp as admin_bp
    from .api import init_api
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .checklist.views import bp as checklist_bp
    from .inspection.views import bp as inspection_bp
    from .main.views import bp as main_bp
    from .registry.import_views import bp as registry_io_bp
    from .planning.public_views import bp as publication_bp
    from .planning.staff_views import bp as planning_staff_bp
    from .planning.views import bp as planning_bp
    from .registry.views import bp as registry_bp
    from .cases import init_app as init_cases
    from .cases.tipoff_views import bp as tipoffs_bp
    from .cases.views import bp as cases_bp
    from .notices import views as notices_views

    for bp in (main_bp, auth_bp, admin_bp, audit_bp, registry_bp, planning_bp, registry_io_bp, checklist_bp,
               cases_bp, tipoffs_bp, notices_views.bp, notices_views.public_bp, planning_staff_bp, publication_bp,
               inspection_bp):
        app.register_blueprint(bp)
    init_cases(app)
    notices_views.init_app(app)
    init_api(app)


def register_errorhandlers(app: Flask) -> None:
    from .errors import init_errors
    from .inspection import init_app as init_inspection
    init_errors(app)
    init_inspection(app)


def register_request_lifecycle(app: Flask) -> None:
    """One commit per request, at one place; any error response rolls back."""
    from flask import g

    from .api.idempotency import check_idempotency_key, store_idempotent_response
    from .extensions import db

    app.before_request(check_idempotency_key)

    @app.after_request
    def _commit(response):
        keep = response.status_code < 400 or (response.status_code < 500 and g.get("keep_changes_on_error"))
        if not keep:
            db.session.rollback()  # also releases an Idempotency-Key claimed by this request
            return response
        if response.status_code < 400 and "idempotency" in g:
            store_idempotent_response(response)
        if not db.session.registry.has():
            return response  # the request never touched the database
        session = db.session()
        if session.new or session.dirty or session.deleted or session.info.get("audit_pending"):
            db.session.commit()
        return response  # nothing changed: the teardown's close ends the read transaction

    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)


def register_commands(app: Flask) -> None:
    from .audit.cli import audit_cli
    from .planning.cli import campaigns_cli
    from .auth.cli import users_cli
    from .checklist.cli import checklists_cli
    from .cases.cli import cases_cli
    from .demo.cli import seed_demo
    from .reference_cli import registries_cli
    from .notices.cli import notices_cli

    for command in (users_cli, audit_cli, seed_demo, registries_cli, checklists_cli, campaigns_cli, cases_cli,
                    notices_cli):
        app.cli.add_command(command)
