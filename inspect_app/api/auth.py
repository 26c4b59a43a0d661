"""Bearer tokens for tablets and scripts."""
from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth.permissions import login_required, public
from ..auth.services import AccountLocked, authenticate, issue_token, revoke_token
from ..errors import ApiError
from ..auth.models import ApiToken
from ..extensions import db, limiter

blp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="Authentication")


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)
    label = fields.String(load_default=None, validate=validate.Length(max=100))


class TokenSchema(Schema):
    token = fields.String(required=True)
    expires_at = fields.DateTime(required=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    department = fields.String(attribute="department_code")
    region_code = fields.String()
    roles = fields.List(fields.String())
    credential_number = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@blp.route("/token")
class Token(MethodView):
    @public
    @blp.doc(security=[])
    @limiter.limit(_login_limit, methods=["POST"])
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(401, description="Wrong username or password")
    @blp.alt_response(429, description="Account locked or too many attempts")
    def post(self, data):
        """Exchange a username and password for a bearer token."""
        try:
            user = authenticate(data["username"], data["password"])
        except AccountLocked as exc:
            raise ApiError(429, _("Too many failed sign-ins: the account is locked until %(time)s.",
                                  time=exc.until.strftime("%H:%M UTC")), code="account_locked")
        if user is None:
            raise ApiError(401, _("Wrong username or password."), code="invalid_credentials")
        token, api_token = issue_token(user, data.get("label"))
        return {"token": token, "expires_at": api_token.expires_dt}

    @login_required
    @blp.response(204)
    def delete(self):
        """Revoke the bearer token used for this request."""
        token_id = g.get("api_token_id")
        api_token = db.session.get(ApiToken, token_id) if token_id else None
        if api_token is None:
            raise ApiError(400, _("This request was not made with a bearer token."), code="no_token")
        revoke_token(api_token)
        return None


@blp.route("/me")
class Me(MethodView):
    @login_required
    @blp.response(200, MeSchema)
    def get(self):
        """The account behind the token or session."""
        return current_user._get_current_object()
