"""The entry gate (准入): the same rules for the desk's form and POST /api/v1/entities/check.

Each finding carries its legal basis and a decision; the application's decision is the most
severe finding's, and every check is recorded (EntryCheck) with the application.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from .kinds import OPS
from .models import BlacklistEntry, EntryCheck
from .services import DuplicateCreditCode, _actor_id, _check_code_free, clean_entity_data, reference

SEVERITY = {"pass": 0, "warn": 1, "block": 2}


@dataclass
class Finding:
    code: str
    decision: str
    message: str
    basis: str = ""
    field: str | None = None
    detail: dict | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _active_blacklist(today: date):
    return sa.or_(BlacklistEntry.until.is_(None), BlacklistEntry.until >= today)


def run_entry_rules(data: dict, today: date | None = None) -> tuple[str, list[Finding], dict]:
    """Evaluate an application; returns (decision, findings, cleaned data)."""
    today = today or date.today()
    clean, errors = clean_entity_data(data)
    findings: list[Finding] = []
    for field, messages in errors.items():
        for message in messages:
            findings.append(Finding("invalid_field", "block", str(message), field=field))
    kind = reference().kinds.get(clean.get("kind") or "")
    code = clean.get("credit_code")
    if not code and "credit_code" not in errors:
        findings.append(Finding("credit_code_missing", "block",
                                str(_l("A credit code is required to apply for market entry.")),
                                basis="市场主体登记管理条例 第3条", field="credit_code"))
    if code:
        try:
            _check_code_free(code, None)
        except DuplicateCreditCode as exc:
            findings.append(Finding("credit_code_duplicate", "block",
                                    str(_l("This credit code is already registered (entity %(id)s).",
                                           id=exc.existing_id)),
                                    field="credit_code", detail={"entity_id": exc.existing_id}))
        listed = db.session.scalars(sa.select(BlacklistEntry).where(
            BlacklistEntry.subject_type == "entity", BlacklistEntry.credit_code == code,
            _active_blacklist(today))).all()
        for entry in listed:
            findings.append(Finding("entity_blacklisted", "block",
                                    str(_l("The entity is on the blacklist: %(reason)s", reason=entry.reason)),
                                    basis=entry.legal_basis, field="credit_code",
                                    detail={"until": entry.until.isoformat() if entry.until else None}))
    person_hmac = clean.get("legal_rep_id_hmac")
    if person_hmac:
        persons = db.session.scalars(sa.select(BlacklistEntry).where(
            BlacklistEntry.subject_type == "person", BlacklistEntry.person_id_hmac == person_hmac,
            _active_blacklist(today))).all()
        rules = kind.entry_rules if kind else {}
        for entry in persons:
            if entry.bars_venue_work and not rules.get("barred_persons"):
                continue  # a venue-work bar (条例 Art 5) does not apply to other kinds
            findings.append(Finding(
                "person_barred" if entry.bars_venue_work else "person_blacklisted", "block",
                str(_l("The legal representative (%(masked)s) is barred: %(reason)s",
                       masked=entry.person_id_masked or "", reason=entry.reason)),
                basis=entry.legal_basis, field="legal_rep_id_number"))
    elif kind and kind.entry_rules.get("barred_persons"):
        findings.append(Finding("person_not_checked", "warn",
                                str(_l("No identity number for the legal representative: the bar on persons "
                                       "with listed records was not checked.")),
                                basis="娱乐场所管理条例 第5条", field="legal_rep_id_number"))
    if kind:
        findings += _location_findings(kind, clean)
        findings += _attribute_findings(kind, clean)
    if clean.get("is_outside_city"):
        findings.append(Finding("outside_city", "warn", str(_l("The location is outside the city's bounds.")),
                                field="lat"))
    decision = max((f.decision for f in findings), key=SEVERITY.get, default="pass")
    return decision, findings, clean


def _location_findings(kind, clean: dict) -> list[Finding]:
    rule = kind.entry_rules.get("sensitive_sites")
    if not rule:
        return []
    if clean.get("lat") is None:
        return [Finding("location_missing", "warn",
                        str(_l("No coordinates: the distance to schools and kindergartens was not checked.")),
                        basis=rule["basis"], field="lat")]
    from . import geo
    findings = []
    distance = rule["distance_m"]
    note = str(_l(" (the distance %(m)d m is a configurable default, not a confirmed provincial figure)",
                  m=int(distance))) if rule.get("distance_unconfirmed") else ""
    for site, metres in geo.sites_near(db.session, clean["lat"], clean["lon"], distance, rule["site_kinds"]):
        findings.append(Finding(
            "sensitive_site_near", rule["decision"],
            str(_l("%(site)s is %(m)d m away; the minimum distance is %(min)d m.", site=site.name,
                   m=round(metres), min=int(distance))) + note,
            basis=rule["basis"], field="lat",
            detail={"site_id": site.id, "site_kind": site.site_kind, "distance_m": round(metres, 1)}))
    return findings


def _attribute_findings(kind, clean: dict) -> list[Finding]:
    from .services import locale_code
    english = locale_code().startswith("en")
    findings = []
    attributes = clean.get("attributes") or {}
    for rule in kind.entry_rules.get("attribute_rules") or []:
        value = attributes.get(rule["field"])
        if value is None:
            continue
        try:
            hit = OPS[rule["op"]](value, rule["value"])
        except TypeError:
            continue
        if hit:
            findings.append(Finding(f"rule_{rule['field']}", rule["decision"],
                                    rule["message_en"] if english else rule["message_zh"],
                                    basis=rule["basis"], field=f"attributes.{rule['field']}"))
    return findings


def check_entry(data: dict) -> EntryCheck:
    """Run the entry rules and record the result with the application."""
    decision, findings, clean = run_entry_rules(data)
    check = EntryCheck(kind=str(data.get("kind") or "")[:40], name=str(data.get("name") or "")[:200],
                       credit_code=clean.get("credit_code"), region_code=clean.get("region_code"),
                       decision=decision, findings=[f.to_dict() for f in findings], user_id=_actor_id())
    db.session.add(check)
    db.session.flush()
    return check
