"""Error responses: JSON in the design.md 4.2 shape under /api/, translated pages elsewhere."""
from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

ERROR_CODES = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Sign-in required: send a valid bearer token.")),
    403: ("forbidden", _l("You do not have permission to do this.")),
    404: ("not_found", _l("Not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("The request conflicts with the current state.")),
    413: ("payload_too_large", _l("The upload is too large.")),
    415: ("unsupported_media_type", _l("This type of content is not accepted.")),
    422: ("validation_error", _l("Some fields are not valid.")),
    429: ("rate_limited", _l("Too many requests: please wait a moment and try again.")),
    500: ("internal_error", _l("Something went wrong on our side. The error has been logged.")),
    503: ("unavailable", _l("The service is temporarily unavailable.")),
}

# marshmallow's stock messages, so that field errors reach the user in their language
FIELD_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field may not be empty."),
    "Not a valid string.": _l("Must be text."),
    "Not a valid integer.": _l("Must be a whole number."),
    "Not a valid number.": _l("Must be a number."),
    "Not a valid boolean.": _l("Must be true or false."),
    "Not a valid date.": _l("Must be a date (YYYY-MM-DD)."),
    "Not a valid datetime.": _l("Must be a date and time (ISO 8601)."),
    "Not a valid list.": _l("Must be a list."),
    "Unknown field.": _l("Unknown field."),
    "Invalid input type.": _l("Invalid input type."),
    "Invalid value.": _l("Invalid value."),
}


class ApiError(Exception):
    """An error raised by API code with a specific status, code and field messages."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or ERROR_CODES.get(status, ("error", ""))[0]
        self.fields = fields or {}


def _flatten_fields(messages, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if key == "_schema":
                name = prefix or "_schema"
            for field, msgs in _flatten_fields(value, name).items():
                out.setdefault(field, []).extend(msgs)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            for field, msgs in _flatten_fields(value, prefix).items():
                out.setdefault(field, []).extend(msgs)
    else:
        out.setdefault(prefix or "_schema", []).append(str(FIELD_MESSAGES.get(str(messages), messages)))
    return out


def webargs_fields(exc: HTTPException) -> dict[str, list[str]]:
    """Field errors carried by a webargs/flask-smorest 422, without the location level."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or {}
    merged: dict = {}
    for location_messages in messages.values():  # {"json": {...}, "query": {...}}
        if isinstance(location_messages, dict):
            merged.update(location_messages)
        else:
            merged.setdefault("_schema", []).extend(location_messages)
    return _flatten_fields(merged)


def json_error(status: int, message: str | None = None, code: str | None = None,
               fields: dict | None = None):
    default_code, default_message = ERROR_CODES.get(status, ("error", ERROR_CODES[500][1]))
    body = {"error": {"code": code or default_code, "message": str(message or default_message),
                      "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _is_bad_json(exc: HTTPException, fields: dict) -> bool:
    if "Invalid JSON body." in fields.get("_schema", []):
        return True
    return getattr(exc, "data", None) is None and "JSON" in (exc.description or "")


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    if _wants_json():
        fields = webargs_fields(exc) if status in (400, 422) else {}
        message = None
        if isinstance(exc, CSRFError):
            message = _("The form expired or lacks its security token: reload the page and try again.")
        elif status == 400 and _is_bad_json(exc, fields):
            message, fields = _("The body is not valid JSON."), {}
        response = json_error(status, message, fields=fields)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        retry = exc.get_response().headers.get("Retry-After") if status == 429 else None
        if retry:
            response.headers["Retry-After"] = retry
        return response
    if isinstance(exc, CSRFError):
        return render_template("errors/error.html", status=400,
                               message=_("The form expired or lacks its security token: "
                                         "reload the page and try again.")), 400
    if status in (403, 404, 500, 429, 405, 413):
        return render_template(f"errors/{status if status in (403, 404, 500) else 'error'}.html",
                               status=status, message=ERROR_CODES[status][1]), status
    return exc


def handle_api_error(exc: ApiError):
    if not _wants_json():
        return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status
    return json_error(exc.status, exc.message, exc.code, exc.fields)


def handle_unexpected(exc: Exception):
    from flask import current_app
    db.session.rollback()
    if current_app.testing and current_app.config.get("RAISE_ERRORS", True):
        raise exc
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return json_error(500)
    return render_template("errors/500.html", status=500, message=ERROR_CODES[500][1]), 500


def init_errors(app) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ApiError, handle_api_error)
    from sqlalchemy.exc import IntegrityError
    app.register_error_handler(InvalidData, lambda exc: handle_invalid_data(exc))
    app.register_error_handler(IntegrityError, handle_integrity_error)
    from sqlalchemy.exc import OperationalError
    app.register_error_handler(OperationalError, handle_operational_error)
    app.register_error_handler(Exception, handle_unexpected)


BUSY_RETRY_AFTER = "2"


def handle_operational_error(exc):
    """The embedded database's write lock not had in time (sqlite.py): 503, try again shortly."""
    from .sqlite import is_locked_error, mark_busy
    if not is_locked_error(exc):
        return handle_unexpected(exc)
    mark_busy()
    db.session.rollback()
    from flask import current_app
    current_app.logger.warning("database busy on %s %s: %s", request.method, request.path, exc.orig)
    message = _("The database is busy: nothing was saved. Try again in a moment.")
    if _wants_json():
        response = json_error(503, message, code="busy")
    else:
        response = make_response(render_template("errors/error.html", status=503, message=message), 503)
    response.headers["Retry-After"] = BUSY_RETRY_AFTER
    return response


# Unique constraints a race can trip (two desks registering the same code at once): the loser
# gets a 409 naming the field, not a 500. Areas add their constraints here.
UNIQUE_CONSTRAINT_FIELDS: dict[str, tuple[str, object]] = {}


def handle_integrity_error(exc):
    db.session.rollback()
    text = str(getattr(exc, "orig", exc))
    for constraint, (field, message) in UNIQUE_CONSTRAINT_FIELDS.items():
        if constraint in text or _sqlite_columns_match(constraint, text):
            if _wants_json():
                return json_error(409, str(message), code="conflict", fields={field: [str(message)]})
            return render_template("errors/error.html", status=409, message=str(message)), 409
    return handle_unexpected(exc)


def _sqlite_columns_match(constraint: str, text: str) -> bool:
    """SQLite names the columns, not the constraint: 'UNIQUE constraint failed: entities.credit_code'."""
    if not constraint.startswith("uq_") or "UNIQUE constraint failed" not in text:
        return False
    qualified = [c.strip() for c in text.split("failed:", 1)[1].split("\n")[0].split(",")]
    table = qualified[0].split(".")[0]
    return constraint == "uq_" + table + "_" + "_".join(c.split(".")[-1] for c in qualified)


class InvalidData(Exception):
    """A service refused its input; ``fields`` maps field names to messages for the user."""

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(str(m) for m in v)}" for k, v in fields.items()))
        self.fields = {k: [str(m) for m in v] for k, v in fields.items()}


def handle_invalid_data(exc: InvalidData):
    if _wants_json():
        return json_error(422, fields=exc.fields)
    return render_template("errors/error.html", status=422, message=str(exc)), 422
