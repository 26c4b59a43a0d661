"""Field inspection services (inspect_app/inspection/services.py): the whole flow and its refusals."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from inspect_app.auth.models import User
from inspect_app.errors import InvalidData
from inspect_app.extensions import db
from inspect_app.inspection import services as svc
from inspect_app.inspection.evidence import EvidenceTooLarge, UnsupportedEvidence
from inspect_app.inspection.models import (Answer, Attestation, CheckIn, Evidence, Inspection, Referral, Signature)
from inspect_app.inspection.signals import inspection_completed, violation_recorded
from tests.inspection_helpers import (PDF_BYTES, PIN, SITE, SVG_WITH_SCRIPT, exif_with, failing_answer, make_entity,
                                      make_inspection, make_team, noisy_jpeg, passing_answer, set_pins,
                                      signature_png)


@pytest.fixture
def field(app, make_user):
    """A job agency and a planned inspection by an hrss and a samr inspector (both with PINs)."""
    team = make_team(make_user)
    set_pins(app, [team["hrss"], team["samr"]])
    entity_id = make_entity(app)
    inspection_id = make_inspection(app, entity_id, [team["hrss"], team["samr"]])
    return {"team": team, "entity_id": entity_id, "inspection_id": inspection_id}


def _get(inspection_id):
    return db.session.get(Inspection, inspection_id)


def _u(user_id):
    return db.session.get(User, user_id)


def _started(field):
    inspection = _get(field["inspection_id"])
    hrss = _u(field["team"]["hrss"])
    svc.start_inspection(inspection, hrss, party_name="李娟", party_role="法定代表人")
    return inspection, hrss


def _attest_both(inspection, hrss, samr_id):
    svc.attest(inspection, hrss, hrss, method="session")
    svc.attest(inspection, hrss, _u(samr_id), method="pin", secret=PIN)


def _check_in(inspection, user, **extra):
    values = {"lat": SITE[0] + 0.0003, "lon": SITE[1], "accuracy_m": 12.0, "at": datetime.now(timezone.utc)}
    values.update(extra)
    return svc.check_in(inspection, user, **values)


def _answer_all(inspection, user, fail: set[str] = frozenset()):
    for _checklist, items in svc.pinned_items(inspection):
        for item in items:
            body = failing_answer(item) if item.code in fail else passing_answer(item)
            svc.save_answer(inspection, user, item.code, result=body.get("result"), value=body.get("value"),
                            note=body.get("note"))


def _sign_all(inspection, user, team):
    svc.sign(inspection, user, role="officer", signer_name="", officer=user, png=signature_png())
    svc.sign(inspection, user, role="officer", signer_name="", officer=_u(team["samr"]), png=signature_png())
    svc.sign(inspection, user, role="party", signer_name="李娟", png=signature_png())


# --------------------------------------------------------------------------------------------
# The flow

def test_whole_flow_freezes_a_hashed_record(app, field):
    completed = []

    def on_completed(sender, inspection):
        completed.append(inspection.id)
    with app.app_context(), inspection_completed.connected_to(on_completed):
        inspection, hrss = _started(field)
        assert inspection.status == "in_progress" and inspection.started_dt is not None
        codes = [c.code for c in inspection.checklists]
        assert codes == ["job_agency.hrss", "job_agency.samr", "joint.red_flags"]
        _attest_both(inspection, hrss, field["team"]["samr"])
        fix = _check_in(inspection, hrss)
        assert 30 <= fix.distance_m <= 40 and fix.flags == []
        missing = svc.missing_for_completion(inspection)
        assert set(missing) == {"answers", "evidence", "signatures"}
        _answer_all(inspection, hrss)
        _sign_all(inspection, hrss, field["team"])
        assert svc.missing_for_completion(inspection) == {}
        svc.complete(inspection, hrss)
        db.session.commit()
        assert completed == [inspection.id]
        inspection = _get(field["inspection_id"])
        assert inspection.status == "completed" and inspection.outcome == "compliant"
        record = inspection.record
        assert inspection.record_sha256 == svc.record_hash(record)
        assert {m["credential_number"] for m in record["team"]} == {"CRED-t.hrss", "CRED-t.samr"}
        assert len(record["answers"]) == sum(1 for a in inspection.answers)
        assert {s["slot"] for s in record["signatures"]} == {f"officer:{field['team']['hrss']}",
                                                             f"officer:{field['team']['samr']}", "party"}
        assert all(len(s["sha256"]) == 64 for s in record["signatures"])
        assert record["entity"]["name"] == inspection.entity.name
        with pytest.raises(svc.InspectionStateError):
            svc.complete(inspection, hrss)


def test_start_is_idempotent_and_pins_once(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        first = [(c.code, c.version) for c in inspection.checklists]
        svc.start_inspection(inspection, _u(field["team"]["samr"]))
        db.session.commit()
        assert [(c.code, c.version) for c in _get(field["inspection_id"]).checklists] == first


def test_not_on_team_cannot_write(app, field):
    with app.app_context():
        inspection = _get(field["inspection_id"])
        with pytest.raises(svc.NotOnTeam):
            svc.start_inspection(inspection, _u(field["team"]["outsider"]))
        inspection, hrss = _started(field)
        with pytest.raises(svc.NotOnTeam):
            svc.save_answer(inspection, _u(field["team"]["outsider"]), "joint.red_flags.deception", result=None,
                            value="no")


def test_writes_before_start_are_refused(app, field):
    with app.app_context():
        inspection = _get(field["inspection_id"])
        with pytest.raises(svc.InspectionStateError) as caught:
            _check_in(inspection, _u(field["team"]["hrss"]))
        assert caught.value.code == "inspection_not_started"


# --------------------------------------------------------------------------------------------
# Attestations

def test_partner_attests_with_pin_and_a_wrong_pin_is_refused_and_counted(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        samr = _u(field["team"]["samr"])
        with pytest.raises(InvalidData) as caught:
            svc.attest(inspection, hrss, samr, method="pin", secret="0000")
        assert "secret" in caught.value.fields
        assert samr.failed_login_count == 1
        with pytest.raises(InvalidData):
            svc.attest(inspection, hrss, samr, method="session")  # the partner is not signed in
        attestation = svc.attest(inspection, hrss, samr, method="pin", secret=PIN)
        assert attestation.method == "pin" and attestation.credential_number == "CRED-t.samr"
        assert svc.attest(inspection, hrss, samr, method="pin", secret=PIN) is attestation  # idempotent
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attestation)) == 1


def test_repeated_wrong_pins_lock_the_partner(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        samr = _u(field["team"]["samr"])
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            with pytest.raises(InvalidData):
                svc.attest(inspection, hrss, samr, method="pin", secret="9999")
        assert samr.locked_until_dt is not None
        with pytest.raises(InvalidData) as caught, force_locale("en"):
            svc.attest(inspection, hrss, samr, method="pin", secret=PIN)  # right PIN, but locked
        assert "locked" in caught.value.fields["secret"][0]


def test_partner_attests_with_password(app, field):
    from tests.conftest import DEMO_PASSWORD
    with app.app_context():
        inspection, hrss = _started(field)
        attestation = svc.attest(inspection, hrss, field["team"]["samr"], method="password", secret=DEMO_PASSWORD)
        assert attestation.user_id == field["team"]["samr"]


def test_attesting_someone_off_the_team_is_refused(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(InvalidData) as caught:
            svc.attest(inspection, hrss, field["team"]["culture"], method="pin", secret=PIN)
        assert "officer_id" in caught.value.fields


# --------------------------------------------------------------------------------------------
# Check-in

def test_far_check_in_needs_a_reason_and_is_flagged(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        far = {"lat": SITE[0] + 0.01, "lon": SITE[1]}  # about 1.1 km north
        with pytest.raises(InvalidData) as caught:
            _check_in(inspection, hrss, **far)
        assert "reason" in caught.value.fields and "1110" in caught.value.fields["reason"][0]
        fix = _check_in(inspection, hrss, reason="门牌号登记错误，实际在马路对面", **far)
        assert fix.flags == ["far"] and 1100 < fix.distance_m < 1125


def test_check_in_flags_missing_accuracy_and_implausible_speed(app, field, make_user):
    with app.app_context():
        inspection, hrss = _started(field)
        now = datetime.now(timezone.utc)
        # a fix 40 km away a minute ago: 2,400 km/h
        db.session.add(CheckIn(inspection_id=inspection.id, user_id=hrss.id, lat=SITE[0] + 0.36, lon=SITE[1],
                               accuracy_m=10, client_dt=now - timedelta(minutes=1), distance_m=0, flags=[]))
        db.session.flush()
        fix = _check_in(inspection, hrss, accuracy_m=0, at=now)
        assert set(fix.flags) == {"no_accuracy", "too_fast"}
        later = _check_in(inspection, hrss, accuracy_m=None, at=now + timedelta(minutes=5))
        assert later.flags == ["no_accuracy"]  # 40 m in 5 minutes is walking pace


def test_check_in_without_registered_location(app, make_user):
    team = make_team(make_user, "nl")
    entity_id = make_entity(app, located=False)
    inspection_id = make_inspection(app, entity_id, [team["hrss"], team["samr"]])
    with app.app_context():
        inspection = _get(inspection_id)
        user = _u(team["hrss"])
        svc.start_inspection(inspection, user)
        fix = _check_in(inspection, user)
        assert fix.distance_m is None and fix.flags == ["no_location"]


def test_check_in_refuses_bad_coordinates(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(InvalidData) as caught:
            _check_in(inspection, hrss, lat=123.0)
        assert "lat" in caught.value.fields
        with pytest.raises(InvalidData) as caught:
            _check_in(inspection, hrss, accuracy_m=-5)
        assert "accuracy_m" in caught.value.fields


# --------------------------------------------------------------------------------------------
# Answers

def test_answer_to_an_item_outside_the_pinned_checklists_is_refused(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        for code in ("entertainment_venue.culture.cctv_retention_days", "no.such.item", "licence_held"):
            with pytest.raises(InvalidData) as caught:
                svc.save_answer(inspection, hrss, code, result="pass")
            assert "item_code" in caught.value.fields


def test_answer_upsert_bumps_revision_and_derives_the_result(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        code = "job_agency.hrss.licence_held"  # fails on "no"
        first = svc.save_answer(inspection, hrss, code, result=None, value="yes")
        assert (first.result, first.revision) == ("pass", 1)
        same = svc.save_answer(inspection, hrss, code, result=None, value="yes")
        assert same is first and same.revision == 1  # a resend changes nothing
        second = svc.save_answer(inspection, _u(field["team"]["samr"]), code, result=None, value="no",
                                 note="许可证已过期")
        assert second.id == first.id and (second.result, second.revision, second.note) == ("fail", 2, "许可证已过期")
        with pytest.raises(InvalidData) as caught:
            svc.save_answer(inspection, hrss, code, result="pass", value="no")
        assert "result" in caught.value.fields
        with pytest.raises(InvalidData):
            svc.save_answer(inspection, hrss, code, result="maybe")
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 1


def test_roster_answer_keeps_numbers_encrypted_and_masked(app, field):
    import json
    from tests.test_roster import id_number as id_number_born
    with app.app_context():
        inspection, hrss = _started(field)
        today = svc.local_today()
        child = id_number_born(today.replace(year=today.year - 13) - timedelta(days=10))
        adult = id_number_born(today.replace(year=today.year - 30))
        answer = svc.save_answer(inspection, hrss, "job_agency.hrss.placed_persons", result=None,
                                 value=[{"name": "小明", "id_number": child}, {"name": "王强", "id_number": adult}])
        db.session.commit()
        assert answer.result == "fail"
        stored = json.dumps(db.session.scalar(sa.select(Answer.value).where(Answer.id == answer.id)))
        assert child not in stored and adult not in stored
        assert child[:6] + "********" + child[-4:] in stored
        public = svc.answer_public_value(answer)
        assert "id_encrypted" not in json.dumps(public) and public["people"][0]["age"] == 13
        codes = {p["type_code"] for p in svc.proposed_violations(inspection)}
        assert codes  # the under-age placement proposes its violation(s)


def test_number_answer_needs_the_number(app, make_user):
    team = make_team(make_user, "ev")
    entity_id = make_entity(app, kind="entertainment_venue")
    inspection_id = make_inspection(app, entity_id, [team["culture"], team["hrss"]], lead="culture")
    with app.app_context():
        inspection = _get(inspection_id)
        user = _u(team["culture"])
        svc.start_inspection(inspection, user)
        code = "entertainment_venue.culture.cctv_retention_days"
        with pytest.raises(InvalidData) as caught:
            svc.save_answer(inspection, user, code, result="pass")
        assert "value" in caught.value.fields
        assert svc.save_answer(inspection, user, code, result=None, value=10).result == "fail"
        assert svc.save_answer(inspection, user, code, result=None, value="45").result == "pass"
        with pytest.raises(InvalidData):
            svc.save_answer(inspection, user, code, result=None, value="forty")


# --------------------------------------------------------------------------------------------
# Evidence

def test_evidence_reads_exif_time_and_gps_and_writes_a_display_copy(app, field):
    from PIL import Image
    taken = datetime(2026, 11, 30, 10, 15, 0)
    photo = noisy_jpeg(640, 480, exif=exif_with(taken, lat=39.331, lon=112.432, orientation=6))
    with app.app_context():
        inspection, hrss = _started(field)
        evidence = svc.add_evidence(inspection, hrss, io.BytesIO(photo), filename="../../IMG_0001.jpg",
                                    item_code="job_agency.hrss.display", caption="公示栏")
        db.session.commit()
        assert evidence.mime == "image/jpeg" and evidence.size_bytes == len(photo)
        assert evidence.original_name == "IMG_0001.jpg"
        import hashlib
        assert evidence.sha256 == hashlib.sha256(photo).hexdigest()
        assert evidence.taken_dt == datetime(2026, 11, 30, 2, 15, tzinfo=timezone.utc)  # 10:15 in Beijing
        assert evidence.gps_lat == pytest.approx(39.331, abs=1e-5)
        assert evidence.gps_lon == pytest.approx(112.432, abs=1e-5)
        assert (evidence.width, evidence.height) == (480, 640)  # orientation 6: shown upright
        original = svc.evidence_file(evidence)
        assert original.read_bytes() == photo
        assert original.parent.name == evidence.sha256[:2] and original.name == f"{evidence.sha256}.jpg"
        with Image.open(svc.evidence_file(evidence, display=True)) as shown:
            assert shown.format == "JPEG" and shown.size == (480, 640)


def test_exif_offset_time_is_honoured(app, field):
    photo = noisy_jpeg(exif=exif_with(datetime(2026, 11, 30, 10, 15, 0), offset="+00:00"))
    with app.app_context():
        inspection, hrss = _started(field)
        evidence = svc.add_evidence(inspection, hrss, io.BytesIO(photo))
        assert evidence.taken_dt == datetime(2026, 11, 30, 10, 15, tzinfo=timezone.utc)
        assert evidence.gps_lat is None


def test_large_photo_is_downscaled(app, field):
    from PIL import Image
    with app.app_context():
        inspection, hrss = _started(field)
        evidence = svc.add_evidence(inspection, hrss, io.BytesIO(noisy_jpeg(2400, 1800, seed=7)))
        with Image.open(svc.evidence_file(evidence, display=True)) as shown:
            assert max(shown.size) <= 1600 and shown.size[0] > shown.size[1]


def test_same_photo_twice_is_one_row(app, field):
    photo = noisy_jpeg(seed=3)
    with app.app_context():
        inspection, hrss = _started(field)
        first = svc.add_evidence(inspection, hrss, io.BytesIO(photo))
        second = svc.add_evidence(inspection, _u(field["team"]["samr"]), io.BytesIO(photo), filename="again.jpg")
        db.session.commit()
        assert first.id == second.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 1


@pytest.mark.parametrize("content, error", [
    (PDF_BYTES, UnsupportedEvidence),
    (SVG_WITH_SCRIPT, UnsupportedEvidence),
    (b"GIF89a" + b"\0" * 100, UnsupportedEvidence),
    (b"", InvalidData),
    (b"\xff\xd8\xff\xe0" + b"\0" * 200, InvalidData),  # a JPEG header and nothing decodable
])
def test_files_that_are_not_photos_are_refused(app, field, content, error):
    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(error):
            svc.add_evidence(inspection, hrss, io.BytesIO(content), filename="photo.jpg")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
        stored = Path(app.config["INSPECT_DATA_DIR"]) / "evidence"
        assert [p for p in stored.rglob("*") if p.is_file()] == []  # nothing left behind


def test_truncated_jpeg_is_refused(app, field):
    """Also once WeasyPrint (imported for the notices) has told Pillow to accept truncated images."""
    import weasyprint  # noqa: F401  sets PIL.ImageFile.LOAD_TRUNCATED_IMAGES for the whole process
    from PIL import ImageFile
    assert ImageFile.LOAD_TRUNCATED_IMAGES
    photo = noisy_jpeg(seed=9)
    with app.app_context():
        inspection, hrss = _started(field)
        for cut in (photo[: len(photo) // 2], photo[: len(photo) - 200]):
            with pytest.raises(InvalidData) as caught:
                svc.add_evidence(inspection, hrss, io.BytesIO(cut))
            assert "file" in caught.value.fields
        # data after the end marker (motion photos, camera trailers) is no truncation
        assert svc.add_evidence(inspection, hrss, io.BytesIO(photo + b"MotionPhoto_Data trailer")).id
        assert ImageFile.LOAD_TRUNCATED_IMAGES  # set back for WeasyPrint


def test_oversized_upload_is_refused_while_reading(app, field):
    app.config["INSPECT_MAX_UPLOAD_BYTES"] = 100_000

    class Endless(io.RawIOBase):
        read_calls = 0

        def readable(self):
            return True

        def read(self, size=-1):
            Endless.read_calls += 1
            return b"\xff\xd8\xff\xe0" + b"\0" * 65532

    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(EvidenceTooLarge):
            svc.add_evidence(inspection, hrss, Endless())
        assert Endless.read_calls <= 3  # stopped at the limit, not at the end of the stream


def test_decompression_bomb_is_refused(app, field):
    from PIL import Image
    out = io.BytesIO()
    Image.new("L", (5000, 5000)).save(out, "PNG")  # 25 megapixels in a few kilobytes
    app.config["INSPECT_MAX_IMAGE_PIXELS"] = 10_000_000
    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(EvidenceTooLarge):
            svc.add_evidence(inspection, hrss, io.BytesIO(out.getvalue()))


def test_png_and_webp_are_accepted(app, field):
    from PIL import Image
    with app.app_context():
        inspection, hrss = _started(field)
        for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp")):
            out = io.BytesIO()
            Image.new("RGBA", (50, 40), (10, 200, 30, 128)).save(out, fmt)
            evidence = svc.add_evidence(inspection, hrss, io.BytesIO(out.getvalue()), filename="x.jpg")
            assert evidence.mime == mime and (evidence.width, evidence.height) == (50, 40)


# --------------------------------------------------------------------------------------------
# Violations

def test_criminal_violation_opens_an_urgent_police_referral_due_in_24_hours(app, field):
    seen = []

    def on_violation(sender, violation):
        seen.append(violation.id)
    with app.app_context(), violation_recorded.connected_to(on_violation):
        inspection, hrss = _started(field)
        code = "joint.red_flags.deception"
        svc.save_answer(inspection, hrss, code, result=None, value="yes")
        evidence = svc.add_evidence(inspection, hrss, io.BytesIO(noisy_jpeg(seed=11)), item_code=code)
        proposals = svc.proposed_violations(inspection)
        assert [(p["item_code"], p["type_code"], p["criminal"]) for p in proposals] == \
            [(code, "rf_suspected_trafficking", True)]
        before = datetime.now(timezone.utc)
        violation = svc.record_violation(inspection, hrss, type_code="rf_suspected_trafficking", item_code=code,
                                         description="以高薪招聘服务员为名诱骗外地女性前来", evidence_ids=[evidence.id],
                                         victims=[{"name": "某女", "age": 17}])
        db.session.commit()
        assert seen == [violation.id]
        assert violation.criminal and violation.restricted
        referral = db.session.scalar(sa.select(Referral).where(Referral.violation_id == violation.id))
        assert (referral.kind, referral.to_department, referral.urgent, referral.status) == \
            ("criminal", "police", True, "pending")
        assert timedelta(hours=23, minutes=59) < referral.due_dt - before <= timedelta(hours=24, seconds=5)
        assert referral.attachments == [{"evidence_id": evidence.id, "sha256": evidence.sha256}]
        assert "某女" not in referral.restricted_data
        from inspect_app.cases.referrals import reveal_restricted
        police = _u(field["team"]["police"])
        assert reveal_restricted(referral, police, "移送审查") == {"victims": [{"name": "某女", "age": 17}]}
        with pytest.raises(PermissionError):
            reveal_restricted(referral, hrss, "看看")
        assert svc.proposed_violations(inspection) == []


def test_violation_type_must_be_in_the_catalogue_and_match_the_item(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(InvalidData) as caught:
            svc.record_violation(inspection, hrss, type_code="no_such_type", description="x")
        assert "type_code" in caught.value.fields
        with pytest.raises(InvalidData) as caught:
            svc.record_violation(inspection, hrss, type_code="ev_drugs", item_code="job_agency.hrss.licence_held",
                                 description="x")
        assert "type_code" in caught.value.fields
        with pytest.raises(InvalidData) as caught:
            svc.record_violation(inspection, hrss, type_code="ja_unlicensed", description="  ")
        assert "description" in caught.value.fields
        with pytest.raises(InvalidData) as caught:
            svc.record_violation(inspection, hrss, type_code="ja_unlicensed", description="无证", evidence_ids=[999])
        assert "evidence_ids" in caught.value.fields


def test_suspected_crime_on_a_non_mandatory_type(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        plain = svc.record_violation(inspection, hrss, type_code="ja_illegal_activity_introduced",
                                     description="介绍求职者到歌厅从事陪侍")
        assert not plain.criminal
        crime = svc.record_violation(inspection, hrss, type_code="ja_illegal_activity_introduced",
                                     description="介绍未成年人从事卖淫", suspected_crime=True)
        assert crime.criminal and crime.restricted
        with pytest.raises(InvalidData):
            svc.record_violation(inspection, hrss, type_code="ja_display_missing", description="x",
                                 suspected_crime=True)


def test_completion_with_a_violation_says_what_is_missing(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        _attest_both(inspection, hrss, field["team"]["samr"])
        _check_in(inspection, hrss)
        _answer_all(inspection, hrss, fail={"job_agency.hrss.display"})
        _sign_all(inspection, hrss, field["team"])
        with pytest.raises(svc.Incomplete) as caught:
            svc.complete(inspection, hrss)
        assert set(caught.value.fields) == {"evidence", "violations"}
        assert caught.value.fields["evidence"][0].startswith("job_agency.hrss.display")
        photo = svc.add_evidence(inspection, hrss, io.BytesIO(noisy_jpeg(seed=21)))
        svc.record_violation(inspection, hrss, type_code="ja_display_missing", item_code="job_agency.hrss.display",
                             description="未公示收费标准", evidence_ids=[photo.id])
        svc.complete(inspection, hrss)
        assert inspection.outcome == "violations"
        assert inspection.record["violations"][0]["evidence"] == [photo.id]


def test_missing_list_names_attestations_check_in_and_signatures(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        svc.attest(inspection, hrss, hrss, method="session")
        missing = svc.missing_for_completion(inspection)
        assert {"attestations", "check_in", "answers", "signatures"} <= set(missing)
        assert "1" in missing["attestations"][0]
        assert any("joint.red_flags.deception" in m for m in missing["answers"])
        svc.sign(inspection, hrss, role="party", signer_name="李娟", refused=True, note="拒绝签字")
        with force_locale("en"):
            missing = svc.missing_for_completion(inspection)
        assert any("witness" in m for m in missing["signatures"])
        with force_locale("zh_CN"):
            assert any("见证人" in m for m in svc.missing_for_completion(inspection)["signatures"])


def test_closed_premises_completes_without_the_checklist(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        _attest_both(inspection, hrss, field["team"]["samr"])
        _check_in(inspection, hrss)
        svc.sign(inspection, hrss, role="officer", signer_name="", png=signature_png())
        svc.sign(inspection, hrss, role="officer", signer_name="", officer=field["team"]["samr"], png=signature_png())
        with pytest.raises(svc.Incomplete):
            svc.complete(inspection, hrss)
        svc.complete(inspection, hrss, outcome="closed_premises")
        assert inspection.outcome == "closed_premises"


# --------------------------------------------------------------------------------------------
# Signatures

def test_signatures_are_checked_by_content(app, field):
    from tests.inspection_helpers import png_image
    with app.app_context():
        inspection, hrss = _started(field)
        with pytest.raises(InvalidData) as caught:
            svc.sign(inspection, hrss, role="party", signer_name="李娟", png=signature_png(blank=True))
        assert "png" in caught.value.fields
        with pytest.raises(UnsupportedEvidence):
            svc.sign(inspection, hrss, role="party", signer_name="李娟", png=noisy_jpeg())
        with pytest.raises(InvalidData):
            svc.sign(inspection, hrss, role="party", signer_name="李娟", png=b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
        with pytest.raises(EvidenceTooLarge):
            svc.sign(inspection, hrss, role="party", signer_name="李娟", png=b"\x89PNG\r\n\x1a\n" + b"\0" * 600_000)
        with pytest.raises(InvalidData) as caught:
            svc.sign(inspection, hrss, role="party", signer_name="", png=signature_png())
        assert "signer_name" in caught.value.fields
        signature = svc.sign(inspection, hrss, role="party", signer_name="李娟", png=png_image(color=(0, 0, 0)))
        import hashlib
        assert signature.sha256 == hashlib.sha256(png_image(color=(0, 0, 0))).hexdigest()
        again = svc.sign(inspection, hrss, role="party", signer_name="李娟", png=signature_png())
        db.session.commit()
        assert again.id == signature.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Signature)) == 1


# --------------------------------------------------------------------------------------------
# The frozen record

def _completed(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        _attest_both(inspection, hrss, field["team"]["samr"])
        _check_in(inspection, hrss)
        _answer_all(inspection, hrss)
        svc.add_evidence(inspection, hrss, io.BytesIO(noisy_jpeg(seed=5)))
        svc.record_violation(inspection, hrss, type_code="ja_annual_report_missing", description="未报送年度报告")
        _sign_all(inspection, hrss, field["team"])
        svc.complete(inspection, hrss)
        db.session.commit()


@pytest.mark.parametrize("change", ["answer", "evidence", "violation", "signature", "attestation", "check_in",
                                    "inspection", "delete_answer", "new_answer"])
def test_orm_guard_refuses_changes_to_a_completed_record(app, field, change):
    _completed(app, field)
    with app.app_context():
        inspection = _get(field["inspection_id"])
        if change == "answer":
            inspection.answers[0].note = "改一改"
        elif change == "evidence":
            inspection.evidence[0].caption = "改"
        elif change == "violation":
            inspection.violations[0].description = "改"
        elif change == "signature":
            inspection.signatures[0].signer_name = "别人"
        elif change == "attestation":
            inspection.attestations[0].method = "password"
        elif change == "check_in":
            inspection.checkins[0].lat = 0.0
        elif change == "inspection":
            inspection.outcome = "compliant"
        elif change == "delete_answer":
            db.session.delete(inspection.answers[0])
        else:
            db.session.add(Answer(inspection_id=inspection.id, checklist_code="x", item_code="x.y", result="pass"))
        with pytest.raises(svc.InspectionStateError):
            db.session.flush()
        db.session.rollback()


def test_completed_violation_may_still_be_closed_and_the_record_amended(app, field):
    _completed(app, field)
    with app.app_context():
        inspection = _get(field["inspection_id"])
        inspection.violations[0].status = "closed"  # case workflow, not the record
        db.session.flush()
        with pytest.raises(svc.InspectionStateError):
            svc.save_answer(inspection, _u(field["team"]["hrss"]), "joint.red_flags.deception", result=None,
                            value="no")
        amendment = svc.amend(inspection, _u(field["team"]["samr"]), reason="笔误：当事人职务应为店长",
                              changes={"party_role": {"from": "法定代表人", "to": "店长"}})
        db.session.commit()
        assert amendment.id and _get(field["inspection_id"]).party_role == "法定代表人"
        with pytest.raises(svc.NotOnTeam):
            svc.amend(inspection, _u(field["team"]["outsider"]), reason="x", changes={"a": 1})
        assert svc.amend(inspection, _u(field["team"]["supervisor"]), reason="复核", changes={"a": 1}).id


# --------------------------------------------------------------------------------------------
# Today

def test_assignments_in_route_order_with_summary(app, make_user):
    team = make_team(make_user, "day")
    first = make_entity(app, name="朔城区第一家职业中介有限公司")
    second = make_entity(app, name="朔城区第二家职业中介有限公司")
    a = make_inspection(app, first, [team["hrss"], team["samr"]])
    b = make_inspection(app, second, [team["hrss"], team["samr"]])
    with app.app_context():
        next_day = svc.local_today() + timedelta(days=1)
    tomorrow = make_inspection(app, second, [team["hrss"], team["samr"]], day=next_day)
    with app.app_context():
        user = _u(team["hrss"])
        today = svc.local_today()
        assert [i.id for i in svc.assignments_for(user, today)] == [a, b]
        assert svc.assignments_for(_u(team["culture"]), today) == []
        summary = svc.assignment_summary(_get(b))
        assert summary["entity"]["name"] == "朔城区第二家职业中介有限公司"
        assert summary["location"]["geo_uri"].startswith(f"geo:{SITE[0]:.6f},{SITE[1]:.6f}")
        assert summary["last_inspection"] is None and summary["open_violations"] == []
        assert summary["route_position"] == 2
        assert tomorrow not in [i.id for i in svc.assignments_for(user, today)]


def test_manual_inspection_needs_two_credentialed_officers(app, make_user):
    from inspect_app.registry.models import Entity
    team = make_team(make_user, "mi")
    entity_id = make_entity(app)
    with app.app_context():
        entity = db.session.get(Entity, entity_id)
        with pytest.raises(InvalidData) as caught:
            svc.create_manual_inspection(entity, lead_department="hrss", officers=[team["hrss"]],
                                         scheduled_date=svc.local_today(), created_by=team["planner"])
        assert "officers" in caught.value.fields
        with pytest.raises(InvalidData) as caught:
            svc.create_manual_inspection(entity, lead_department="hrss", officers=[team["hrss"], team["police"]],
                                         scheduled_date=svc.local_today(), created_by=team["planner"])
        assert "officers" in caught.value.fields
        with pytest.raises(InvalidData) as caught:
            svc.create_manual_inspection(entity, lead_department="culture", officers=[team["hrss"], team["samr"]],
                                         scheduled_date=svc.local_today(), created_by=team["planner"])
        assert "lead_department" in caught.value.fields


# --------------------------------------------------------------------------------------------
# Demo data

def test_demo_field_data_is_there_and_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "PIN 1234" in first.output and "field inspection(s) planned" in first.output
    with app.app_context():
        hrss = db.session.scalar(sa.select(User).where(User.username == "inspector.hrss.sc"))
        samr = db.session.scalar(sa.select(User).where(User.username == "inspector.samr.sc"))
        assert samr.check_pin("1234")
        today = svc.local_today()
        route = [i for i in svc.assignments_for(hrss, today) if i.team_day == f"demo-field-{today.isoformat()}"]
        assert [i.route_position for i in route] == [1, 2, 3, 4]
        assert all({m.user.username for m in i.members} >= {"inspector.hrss.sc", "inspector.samr.sc",
                                                            "inspector.culture.sc"} for i in route)
        tomorrow = svc.assignments_for(hrss, today + timedelta(days=1))
        assert len([i for i in tomorrow if i.team_day and i.team_day.startswith("demo-field-")]) == 4
        done = db.session.scalar(sa.select(Inspection).where(Inspection.team_day == "demo-field-completed"))
        assert done.outcome == "violations" and done.record_sha256 == svc.record_hash(done.record)
        assert svc.evidence_file(done.evidence[0]).exists()
        counts = db.session.scalar(sa.select(sa.func.count()).select_from(Inspection))
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == counts


def test_roster_sent_back_masked_is_matched_to_the_stored_people(app, field):
    from tests.test_roster import id_number
    with app.app_context():
        inspection, hrss = _started(field)
        today = svc.local_today()
        adult = id_number(today.replace(year=today.year - 30))
        code = "job_agency.hrss.placed_persons"
        first = svc.save_answer(inspection, hrss, code, result=None, value=[{"name": "王强", "id_number": adult}])
        shown = svc.answer_public_value(first)["people"]
        again = svc.save_answer(inspection, hrss, code, result=None, value=shown, note="名册已核对")
        assert again.note == "名册已核对" and again.value["people"][0]["id_masked"] == shown[0]["id_masked"]
        forged = [{**shown[0], "name": "李四"}]  # a masked number that matches nobody stored
        with pytest.raises(InvalidData):
            svc.save_answer(inspection, hrss, code, result=None, value=forged)


def test_withdrawn_violation_cancels_its_referral_and_is_proposed_again(app, field):
    with app.app_context():
        inspection, hrss = _started(field)
        code = "joint.red_flags.deception"
        svc.save_answer(inspection, hrss, code, result=None, value="yes")
        violation = svc.record_violation(inspection, hrss, type_code="rf_suspected_trafficking", item_code=code,
                                         description="误录")
        with pytest.raises(InvalidData):
            svc.withdraw_violation(inspection, hrss, violation, reason=" ")
        svc.withdraw_violation(inspection, hrss, violation, reason="点错了条目")
        referral = db.session.scalar(sa.select(Referral).where(Referral.violation_id == violation.id))
        assert violation.status == "withdrawn" and referral.status == "cancelled"
        assert [p["type_code"] for p in svc.proposed_violations(inspection)] == ["rf_suspected_trafficking"]
        assert any(code in m for m in svc.missing_for_completion(inspection)["violations"])
