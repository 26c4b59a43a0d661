"""The HTTP API v1 (design.md 4.2): flask-smorest blueprints, JSON errors, pagination, OpenAPI.

An area adds its API by listing its flask-smorest Blueprint in :func:`api_blueprints`.
"""
from __future__ import annotations

from flask_smorest import Api

from ..extensions import csrf
from .schemas import ErrorSchema


class InspectApi(Api):
    """flask-smorest with our error shape: errors.py answers every HTTP error, HTML or JSON."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        pass


def api_blueprints() -> list:
    from ..checklist.api import blp as checklist_blp
    from ..inspection.api import blp as inspection_blp
    from ..planning.api import blp as planning_blp
    from ..registry.api import blp as registry_blp
    from ..registry.import_api import blp as registry_io_blp
    from .auth import blp as auth_blp
    from .core import blp as core_blp
    return [core_blp, auth_blp, registry_blp, registry_io_blp, planning_blp, checklist_blp, inspection_blp]


def init_api(app) -> None:
    from . import docs

    api = InspectApi()
    app.extensions["inspect_api"] = api
    api.init_app(app, spec_kwargs={
        "info": {"description": "联合检查系统接口 / Joint inspection API. Errors: "
                                "`{\"error\": {\"code\", \"message\", \"fields\"}}`."},
    })
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]
    for blp in api_blueprints():
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.register_blueprint(docs.bp)
    csrf.exempt(docs.bp)
