"""Demo field inspections: today's and tomorrow's route for the 朔城区 joint team, PINs for the officers,
and one inspection completed with a violation (through the real services, photo and signatures included).

Idempotent: a day's route is made once (its team-day is ``demo-field-<date>``); the completed one once.
"""
from __future__ import annotations

import io
import random
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from ..auth.models import User
from ..extensions import db
from ..inspection.models import Inspection, InspectionMember
from ..registry.models import Entity

DEMO_PIN = "1234"
TEAM = ("inspector.hrss.sc", "inspector.samr.sc", "inspector.culture.sc")
STOPS_PER_DAY = 4
COMPLETED_TEAM_DAY = "demo-field-completed"


def seed_demo_pins() -> int:
    """PIN 1234 for every demo officer who has none (a partner confirms on a colleague's tablet with it)."""
    count = 0
    for user in db.session.scalars(sa.select(User).where(User.credential_number.is_not(None))):
        if user.pin_hash is None:
            user.set_pin(DEMO_PIN)
            count += 1
    db.session.flush()
    return count


def _team() -> list[User] | None:
    users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(TEAM)))}
    return [users[name] for name in TEAM] if len(users) == len(TEAM) else None


def _targets(exclude: set[int], count: int, seed: int) -> list[Entity]:
    rows = db.session.scalars(sa.select(Entity).where(
        Entity.region_code == "140602", Entity.kind.in_(["job_agency", "entertainment_venue"]),
        Entity.status == "active", Entity.lat.is_not(None)).order_by(Entity.id)).all()
    rows = [e for e in rows if e.id not in exclude]
    random.Random(seed).shuffle(rows)
    return rows[:count]


def _used_entities() -> set[int]:
    return set(db.session.scalars(sa.select(Inspection.entity_id).where(Inspection.team_day.like("demo-field-%"))))


def seed_demo_route(day, team: list[User]) -> int:
    """The team's stops for ``day`` in visiting order (skipped when that day's route exists)."""
    from ..planning.services import team_day_route
    team_day = f"demo-field-{day.isoformat()}"
    if db.session.scalar(sa.select(sa.func.count()).select_from(Inspection).where(Inspection.team_day == team_day)):
        return 0
    inspections = []
    for entity in _targets(_used_entities(), STOPS_PER_DAY, day.toordinal()):
        inspection = Inspection(entity_id=entity.id, origin="manual", scheduled_date=day, team_day=team_day,
                                region_code=entity.region_code, lead_department="hrss", status="planned",
                                cause_note=None)
        for position, user in enumerate(team):
            inspection.members.append(InspectionMember(user_id=user.id, department_code=user.department_code,
                                                       position=position))
        db.session.add(inspection)
        inspections.append(inspection)
    db.session.flush()
    if inspections:
        _office, route, unplaced = team_day_route(inspections)
        by_id = {i.id: i for i in inspections}
        for position, inspection_id in enumerate(list(route.order) + [i.id for i in unplaced], start=1):
            by_id[inspection_id].route_position = position
        db.session.flush()
    return len(inspections)


def _demo_photo(seed: int) -> bytes:
    """A photo-like JPEG (a gradient with noise) with EXIF time and GPS, about 100 KB."""
    from PIL import Image, ImageDraw
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((960, 720)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randint(0, 900), rng.randint(0, 660)
        draw.rectangle([x, y, x + rng.randint(10, 80), y + rng.randint(10, 60)],
                       fill=(rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _signature() -> bytes:
    from PIL import Image, ImageDraw
    image = Image.new("RGBA", (360, 140), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(20, 100), (90, 30), (150, 110), (230, 40), (330, 90)], fill=(20, 20, 60, 255),
                               width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed_demo_completed(day, team: list[User]) -> Inspection | None:
    """One job agency inspected on ``day`` by the hrss and samr officers: a failed display item, its photo
    and violation, both officers' and the party's signatures; completed (skipped when it exists)."""
    from ..inspection import services as svc
    if db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)
                         .where(Inspection.team_day == COMPLETED_TEAM_DAY)):
        return None
    hrss, samr = team[0], team[1]
    entity = next((e for e in _targets(_used_entities(), 50, 7) if e.kind == "job_agency"), None)
    if entity is None:
        return None
    inspection = Inspection(entity_id=entity.id, origin="manual", scheduled_date=day, team_day=COMPLETED_TEAM_DAY,
                            route_position=1, region_code=entity.region_code, lead_department="hrss",
                            status="planned")
    for position, user in enumerate((hrss, samr)):
        inspection.members.append(InspectionMember(user_id=user.id, department_code=user.department_code,
                                                   position=position))
    db.session.add(inspection)
    db.session.flush()
    svc.start_inspection(inspection, hrss, party_name=entity.legal_representative or "张经理", party_role="法定代表人")
    svc.attest(inspection, hrss, hrss, method="session")
    svc.attest(inspection, hrss, samr, method="pin", secret=DEMO_PIN)
    svc.check_in(inspection, hrss, lat=entity.lat + 0.0002, lon=entity.lon - 0.0001, accuracy_m=9.0,
                 at=datetime.now(timezone.utc) - timedelta(hours=2))
    failed = "job_agency.hrss.display"
    for _checklist, items in svc.pinned_items(inspection):
        for item in items:
            if item.code == failed:
                svc.save_answer(inspection, hrss, item.code, result=None, value=item.fail_on,
                                note="服务场所未公示收费标准和监督电话")
            elif item.answer_type == "yes_no_na":
                svc.save_answer(inspection, hrss, item.code, result=None,
                                value="no" if item.fail_on == "yes" else "yes")
            elif item.answer_type == "staff_roster":
                svc.save_answer(inspection, hrss, item.code, result=None, value=[])
            elif item.answer_type == "photo":
                svc.save_answer(inspection, hrss, item.code, result="na", note="现场无需拍照")
            elif item.answer_type == "number":
                op, threshold = item.fail_if["op"], item.fail_if["value"]
                svc.save_answer(inspection, hrss, item.code, result=None,
                                value=threshold + 1 if op in ("lt", "lte") else max(threshold - 1, 0))
    photo = svc.add_evidence(inspection, hrss, io.BytesIO(_demo_photo(entity.id)), filename="公示栏.jpg",
                             item_code=failed, caption="公示栏未公示收费标准")
    svc.record_violation(inspection, hrss, type_code="ja_display_missing", item_code=failed, evidence_ids=[photo.id],
                         description="服务场所未明示收费标准、监督机关名称和监督电话。")
    png = _signature()
    svc.sign(inspection, hrss, role="officer", signer_name=hrss.full_name, officer=hrss, png=png)
    svc.sign(inspection, hrss, role="officer", signer_name=samr.full_name, officer=samr, png=png)
    svc.sign(inspection, hrss, role="party", signer_name=inspection.party_name, png=png)
    svc.complete(inspection, hrss)
    return inspection


def seed_demo_inspections(today=None) -> dict:
    """PINs, today's and tomorrow's routes and a completed inspection; returns what was created."""
    from ..inspection.services import local_today
    created = {"pins": seed_demo_pins(), "stops": 0, "completed": None}
    team = _team()
    if team is None:
        return created
    today = today or local_today()
    completed = seed_demo_completed(today - timedelta(days=1), team)
    created["completed"] = completed.id if completed else None
    for day in (today, today + timedelta(days=1)):
        created["stops"] += seed_demo_route(day, team)
    return created
