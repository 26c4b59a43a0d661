"""Cases and follow-up: rectification deadlines, re-inspection, penalties, referrals, tip-offs."""
from __future__ import annotations

from pathlib import Path


def init_app(app) -> None:
    """Read registries/enforcement.yaml (a bad file stops start-up), react to completed inspections,
    and give templates the deadline panel and the entity timeline."""
    from flask_login import current_user

    from ..inspection.signals import inspection_completed
    from .clocks import deadline_panel
    from .rules import load_rules
    from .timeline import entity_timeline

    reference = app.extensions["inspect_reference"]
    path = Path(app.config["REGISTRIES_DIR"]) / "enforcement.yaml"
    app.extensions["inspect_enforcement"] = load_rules(path, set(reference.departments))
    inspection_completed.connect(_on_inspection_completed)
    app.jinja_env.globals.update(
        deadline_panel=lambda user=None, **kw: deadline_panel(user or current_user, **kw),
        entity_timeline=lambda entity, user=None: entity_timeline(entity, user or current_user))


def _on_inspection_completed(sender, inspection=None, **extra) -> None:
    """Form the inspection's cases inside its transaction (a failure rolls the completion back)."""
    from .services import form_cases
    form_cases(inspection)
