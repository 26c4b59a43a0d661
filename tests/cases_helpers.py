"""Builders for case tests: an entity, a completed inspection with violations (through the ORM, as the
field-inspection services will leave it), and the completion signal."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from inspect_app.extensions import db
from tests.registry_helpers import agency


def make_entity(app, **overrides) -> int:
    from inspect_app.registry.services import register_entity
    with app.app_context():
        entity = register_entity(agency(**overrides), status="active")
        db.session.commit()
        return entity.id


def complete_inspection(app, entity_id: int, members: list[tuple[int, str]], violations: list[dict], *,
                        lead: str = "hrss", origin: str = "random", follows_id: int | None = None,
                        focus_items: list | None = None, answers: list[tuple[str, str]] = (),
                        criminal_referral: bool = True, inspection_id: int | None = None) -> int:
    """Create (or finish a planned ``inspection_id``) a completed inspection with these violations and
    send ``inspection_completed``; a criminal violation gets the urgent police referral the field
    services open. Returns the inspection id."""
    from inspect_app.inspection.models import Answer, Inspection, InspectionMember, Referral, Violation
    from inspect_app.inspection.signals import inspection_completed
    with app.test_request_context():
        now = datetime.now(timezone.utc)
        if inspection_id is None:
            inspection = Inspection(entity_id=entity_id, origin=origin, region_code="140602", lead_department=lead,
                                    scheduled_date=date.today(), follows_id=follows_id, focus_items=focus_items)
            for position, (user_id, department) in enumerate(members):
                inspection.members.append(InspectionMember(user_id=user_id, department_code=department,
                                                           position=position))
            db.session.add(inspection)
        else:
            inspection = db.session.get(Inspection, inspection_id)
        for item_code, result in answers:
            inspection.answers.append(Answer(checklist_code="test", item_code=item_code, result=result))
        for spec in violations:
            violation = Violation(entity_id=entity_id, description=spec.get("description", "现场发现"),
                                  type_code=spec["type_code"], acting_department=spec["acting_department"],
                                  item_code=spec.get("item_code"), quantities=spec.get("quantities"),
                                  criminal=spec.get("criminal", False), restricted=spec.get("criminal", False))
            inspection.violations.append(violation)
        db.session.flush()
        # completed last, as the field services do: the frozen-record guard refuses rows added after
        inspection.status, inspection.completed_dt = "completed", now
        inspection.completed_by_id = members[0][0] if members else None
        inspection.outcome = "violations" if violations else "compliant"
        db.session.flush()
        for violation in inspection.violations:
            if violation.criminal and criminal_referral:
                db.session.add(Referral(kind="criminal", from_department=lead, to_department="police",
                                        entity_id=entity_id, inspection_id=inspection.id, violation_id=violation.id,
                                        urgent=True, due_dt=now + timedelta(hours=24), reason="涉嫌犯罪",
                                        attachments=[], status="pending"))
        db.session.flush()
        inspection_completed.send(app, inspection=inspection)
        db.session.commit()
        return inspection.id


def case_ids(app, inspection_id: int) -> dict[str, int]:
    """{acting department: case id} of an inspection's cases."""
    import sqlalchemy as sa

    from inspect_app.cases.models import Case
    with app.app_context():
        return {c.acting_department: c.id for c in db.session.scalars(
            sa.select(Case).where(Case.inspection_id == inspection_id))}


def team(make_user, department: str = "hrss", region: str = "140602", n: int = 2) -> list[int]:
    return [make_user(roles=("inspector",), department=department, region=region) for _ in range(n)]
