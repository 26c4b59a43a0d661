"""A past violation is read as its inspection pinned the violation catalogue: editing or removing an entry of
checklists/violation_types.yaml later changes neither its title nor its penalty range nor its deadline, on
pages, in the API and in the case's computations."""
from __future__ import annotations

import copy
import dataclasses
import io
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from inspect_app.checklist.catalogue import Checklist, ChecklistCatalogue
from inspect_app.extensions import db
from inspect_app.workdays import add_workdays
from tests.inspection_helpers import (PIN, SITE, failing_answer, make_entity, make_inspection, make_team,
                                      noisy_jpeg, passing_answer, set_pins, signature_png)

DEPOSIT = "ja_deposit_taken"  # raised by job_agency.hrss.deposits: carried by the pinned checklist too
RECORDS = "emp_hiring_records_missing"  # no job-agency checklist raises it: only the pinned catalogue has it
DEPOSIT_ZH = "职业中介机构向劳动者收取押金"
RECORDS_ZH = "未核查被招用人员身份证，或者未妥善保存、伪造录用登记和核查材料"
NOT_IN_CATALOGUE = "Not in the violation catalogue"


def _edited(catalogue: ChecklistCatalogue, changes: dict) -> ChecklistCatalogue:
    """The catalogue as a later YAML would load it: ``changes`` maps a code to a new entry, or to None when
    the entry (and every item raising it) is gone. The checklists get new versions, as they would."""
    types = dict(catalogue.violation_types)
    for code, entry in changes.items():
        if entry is None:
            types.pop(code, None)
        else:
            types[code] = entry
    checklists = {}
    for code, checklist in catalogue.checklists.items():
        content = copy.deepcopy(checklist.content)
        content["items"] = [item for item in content["items"]
                            if not any(changes.get(v, True) is None for v in _raises(item))]
        raised = {v for item in content["items"] for v in _raises(item)}
        content["violation_types"] = {v: types[v].to_dict() for v in sorted(raised)}
        checklists[code] = Checklist.from_content(content, source=checklist.source)
    return ChecklistCatalogue(catalogue.laws, catalogue.parameters, types, checklists, catalogue.kind_checklists,
                              catalogue.directory)


def _raises(item: dict) -> list[str]:
    if item.get("roster"):
        return [rule["violation"] for rule in item["roster"]["rules"]]
    return [item["violation"]] if item.get("violation") else []


def _completed_with_violations(app, make_user) -> dict:
    """A job agency inspected through the field services: a deposit taken from two workers (a failed item)
    and hiring records missing (recorded without an item); completed, so the hrss case is formed."""
    from inspect_app.auth.models import User
    from inspect_app.inspection import services as svc
    from inspect_app.inspection.models import Inspection
    team = make_team(make_user)
    set_pins(app, [team["hrss"], team["samr"]])
    entity_id = make_entity(app)
    inspection_id = make_inspection(app, entity_id, [team["hrss"], team["samr"]])
    with app.test_request_context():
        inspection = db.session.get(Inspection, inspection_id)
        hrss, samr = db.session.get(User, team["hrss"]), db.session.get(User, team["samr"])
        svc.start_inspection(inspection, hrss, party_name="李娟", party_role="法定代表人")
        svc.attest(inspection, hrss, hrss, method="session")
        svc.attest(inspection, hrss, samr, method="pin", secret=PIN)
        svc.check_in(inspection, hrss, lat=SITE[0], lon=SITE[1], accuracy_m=10.0, at=datetime.now(timezone.utc))
        for _checklist, items in svc.pinned_items(inspection):
            for item in items:
                body = failing_answer(item) if item.code == "job_agency.hrss.deposits" else passing_answer(item)
                svc.save_answer(inspection, hrss, item.code, result=body.get("result"), value=body.get("value"))
        photo = svc.add_evidence(inspection, hrss, io.BytesIO(noisy_jpeg(seed=41)))
        svc.record_violation(inspection, hrss, type_code=DEPOSIT, item_code="job_agency.hrss.deposits",
                             description="向两名求职者各收取押金500元", evidence_ids=[photo.id],
                             quantities={"persons": 2})
        svc.record_violation(inspection, hrss, type_code=RECORDS, description="未保存录用登记材料")
        svc.sign(inspection, hrss, role="officer", signer_name="", officer=hrss, png=signature_png())
        svc.sign(inspection, hrss, role="officer", signer_name="", officer=samr, png=signature_png())
        svc.sign(inspection, hrss, role="party", signer_name="李娟", png=signature_png())
        svc.complete(inspection, hrss)
        db.session.commit()
        from inspect_app.cases.models import Case
        case_id = db.session.scalar(sa.select(Case.id).where(Case.inspection_id == inspection_id))
    return {"team": team, "inspection_id": inspection_id, "case_id": case_id, "entity_id": entity_id}


def _check_pinned_values(app, client, auth, token_for, done: dict) -> None:
    """Range, deadline, titles and penalty texts as the catalogue was when the inspection started."""
    from inspect_app.cases.models import Case
    from inspect_app.cases.penalty import case_range
    from inspect_app.cases.services import suggested_deadline
    with app.test_request_context():
        case = db.session.get(Case, done["case_id"])
        computed = case_range(case)
        by_type = {item["type_code"]: item for item in computed["items"]}
        assert by_type[DEPOSIT]["title"] == DEPOSIT_ZH and by_type[RECORDS]["title"] == RECORDS_ZH
        assert (by_type[DEPOSIT]["min"], by_type[DEPOSIT]["max"]) == (1000, 4000)  # 500-2,000 yuan per worker
        assert (by_type[RECORDS]["min"], by_type[RECORDS]["max"]) == (10000, 10000)
        assert (computed["min"], computed["max"]) == (11000, 14000)
        assert all(item["note"] is None for item in computed["items"])
        # the longer of the two default deadlines: 10 working days (hiring records), not the edited 30
        assert suggested_deadline(case, date(2026, 9, 21)) == add_workdays(date(2026, 9, 21), 10)
    headers = token_for("t.supervisor")
    case_body = client.get(f"/api/v1/cases/{done['case_id']}", headers=headers).json
    assert {v["type_code"]: v["title"] for v in case_body["violations"]} == {DEPOSIT: DEPOSIT_ZH,
                                                                             RECORDS: RECORDS_ZH}
    penalty = client.get(f"/api/v1/cases/{done['case_id']}/penalty", headers=headers).json
    assert (penalty["min"], penalty["max"]) == (11000, 14000)
    detail = client.get(f"/api/v1/inspections/{done['inspection_id']}", headers=headers).json
    assert {v["title"] for v in detail["violations"]} == {DEPOSIT_ZH, RECORDS_ZH}
    assert {v["title"] for v in detail["summary"]["open_violations"]} == {DEPOSIT_ZH, RECORDS_ZH}
    listed = client.get(f"/api/v1/violations?inspection_id={done['inspection_id']}", headers=headers).json
    assert {v["title"] for v in listed["items"]} == {DEPOSIT_ZH, RECORDS_ZH}
    auth.login("t.supervisor")
    pages = {"case": client.get(f"/cases/{done['case_id']}"),
             "penalty": client.get(f"/cases/{done['case_id']}/penalty"),
             "record": client.get(f"/inspections/{done['inspection_id']}/record"),
             "entity timeline": client.get(f"/registry/{done['entity_id']}")}
    for name, page in pages.items():
        assert page.status_code == 200, name
        html = page.data.decode()
        assert DEPOSIT_ZH in html and RECORDS_ZH in html, name
        assert NOT_IN_CATALOGUE not in html and "不在违法行为目录" not in html, name
        assert "改过的标题" not in html, name
    assert "每人五百元以上二千元以下" in pages["case"].data.decode()  # the pinned penalty text
    auth.logout()


def test_edited_then_removed_catalogue_entries_leave_past_violations_as_pinned(
        app, client, auth, token_for, make_user, monkeypatch):
    done = _completed_with_violations(app, make_user)
    with app.app_context():
        from inspect_app.inspection.models import Inspection
        inspection = db.session.get(Inspection, done["inspection_id"])
        original = app.extensions["inspect_checklists"]
        assert inspection.catalogue_version == original.violation_version
        assert inspection.record["violation_catalogue"] == original.violation_version
    _check_pinned_values(app, client, auth, token_for, done)

    # the YAML edited: other titles, a heavier fine, a longer deadline
    deposit, records = original.violation_types[DEPOSIT], original.violation_types[RECORDS]
    fine = dict(deposit.penalty["fines"][0], min=800, max=3000)
    edited = _edited(original, {
        DEPOSIT: dataclasses.replace(deposit, title_zh="改过的标题：收取押金",
                                     penalty={**deposit.penalty, "fines": [fine], "text_zh": "改过的处罚"}),
        RECORDS: dataclasses.replace(records, title_zh="改过的标题：录用材料",
                                     penalty={**records.penalty, "fines": [dict(records.penalty["fines"][0],
                                                                                min=20000, max=20000)]},
                                     rectification={"required": True, "deadline_working_days": 30}),
    })
    assert edited.violation_version != original.violation_version
    monkeypatch.setitem(app.extensions, "inspect_checklists", edited)
    _check_pinned_values(app, client, auth, token_for, done)

    # and then both entries removed (with the item that raised one of them)
    removed = _edited(original, {DEPOSIT: None, RECORDS: None})
    assert DEPOSIT not in removed.violation_types and removed.checklists["job_agency.hrss"].item("deposits") is None
    monkeypatch.setitem(app.extensions, "inspect_checklists", removed)
    _check_pinned_values(app, client, auth, token_for, done)


def test_catalogue_pin_is_idempotent_audited_and_immutable(app, monkeypatch):
    from inspect_app.audit.models import AuditEvent
    from inspect_app.checklist.models import ViolationCatalogueVersion
    from inspect_app.checklist import services
    from inspect_app.checklist.services import PinnedContentChanged, pin_violation_catalogue, pinned_violation_types
    monkeypatch.setattr(services, "_pinned_catalogues", {})  # read from the database, not an earlier test's copy
    with app.test_request_context():
        first = pin_violation_catalogue()
        assert pin_violation_catalogue().id == first.id
        db.session.commit()
        assert pin_violation_catalogue().id == first.id
        assert first.entry_count == len(app.extensions["inspect_checklists"].violation_types)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ViolationCatalogueVersion)) == 1
        events = db.session.scalars(sa.select(AuditEvent)
                                    .where(AuditEvent.object_type == "violation_catalogue_versions")).all()
        assert len(events) == 1 and events[0].after["version"] == first.version
        with pytest.raises(RuntimeError, match="pinned"):
            first.entry_count = 3
            db.session.flush()
        db.session.rollback()
        # a row edited behind the application's back is refused, not silently believed
        content = copy.deepcopy(first.content)
        content["violation_types"][DEPOSIT]["title_zh"] = "数据库里改的"
        db.session.execute(sa.update(ViolationCatalogueVersion.__table__)
                           .where(ViolationCatalogueVersion.id == first.id).values(content=content))
        db.session.commit()
        monkeypatch.setitem(app.extensions, "inspect_checklists",
                            _edited(app.extensions["inspect_checklists"], {DEPOSIT: None}))
        with pytest.raises(PinnedContentChanged):
            pinned_violation_types(first.version)


def test_recording_reads_the_pinned_catalogue_not_an_edit_made_during_the_inspection(app, make_user, monkeypatch):
    """The YAML changes while the team is on site: the violation recorded is the entry pinned at the start
    (its acting department and severity), and a type added since is refused."""
    from inspect_app.auth.models import User
    from inspect_app.errors import InvalidData
    from inspect_app.inspection import services as svc
    from inspect_app.inspection.models import Inspection
    team = make_team(make_user)
    inspection_id = make_inspection(app, make_entity(app), [team["hrss"], team["samr"]])
    with app.test_request_context():
        inspection = db.session.get(Inspection, inspection_id)
        hrss = db.session.get(User, team["hrss"])
        svc.start_inspection(inspection, hrss)
        db.session.commit()
        original = app.extensions["inspect_checklists"]
        records = original.violation_types[RECORDS]
        added = dataclasses.replace(records, code="emp_new_type", title_zh="新增的违法行为")
        edited = _edited(original, {RECORDS: dataclasses.replace(records, acting_department="samr",
                                                                 severity="critical"),
                                    "emp_new_type": added})
        monkeypatch.setitem(app.extensions, "inspect_checklists", edited)
        violation = svc.record_violation(inspection, hrss, type_code=RECORDS, description="未保存录用登记材料")
        assert (violation.acting_department, violation.severity) == ("hrss", "medium")
        assert svc.violation_type_for(violation).title_zh == RECORDS_ZH
        with pytest.raises(InvalidData) as caught:
            svc.record_violation(inspection, hrss, type_code="emp_new_type", description="x")
        assert "type_code" in caught.value.fields
