"""Field inspection: assignments, check-in, checklist, evidence, violations, signatures, the frozen record."""
from __future__ import annotations


def init_app(app) -> None:
    """The ORM guard of completed records, and the answers to the area's exceptions (403/409/413/415)."""
    from flask import render_template

    from ..errors import _wants_json, json_error
    from .evidence import EvidenceTooLarge, UnsupportedEvidence
    from .guard import InspectionStateError, install_guard
    from .services import NotOnTeam

    install_guard()

    def answer(status: int, message, code: str | None = None):
        if _wants_json():
            return json_error(status, str(message) if message else None, code=code)
        return render_template("errors/error.html", status=status, message=str(message)), status

    def not_on_team(exc):
        from flask_babel import gettext as _
        return answer(403, _("You are not on this inspection's team."), "not_on_team")

    def state_error(exc):
        return answer(409, exc.message, exc.code)

    def file_refused(exc):
        return answer(exc.code, exc.message)

    app.register_error_handler(NotOnTeam, not_on_team)
    app.register_error_handler(InspectionStateError, state_error)
    app.register_error_handler(EvidenceTooLarge, file_refused)
    app.register_error_handler(UnsupportedEvidence, file_refused)
