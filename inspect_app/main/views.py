"""The home page: what this user can do today."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..auth.permissions import login_required
from ..navigation import navigation_for

bp = Blueprint("main", __name__)


@bp.route("/")
@login_required
def home():
    from flask_login import current_user
    reference = current_app.extensions["inspect_reference"]
    return render_template("main/home.html",
                           department=reference.departments.get(current_user.department_code),
                           region=reference.regions.get(current_user.region_code),
                           cards=navigation_for(current_user))


@bp.app_context_processor
def _navigation():
    from flask_login import current_user

    from ..auth.forms import EmptyForm, LanguageForm
    from ..auth.permissions import can as _can

    def can(permission, obj=None):
        return _can(current_user, permission, obj)
    if not getattr(current_user, "is_authenticated", False):
        return {"nav_items": [], "logout_form": None, "header_language_form": LanguageForm(), "can": can}
    return {"nav_items": navigation_for(current_user), "logout_form": EmptyForm(),
            "header_language_form": LanguageForm(), "can": can}
