"""The staff-roster answer type: ages from identity-card numbers, and the violations they propose.

Each person's number is validated with python-stdnum (``cn.ric``); the birth date it carries gives the
age on the inspection date. The roster item's rules (checklists/*.yaml) say which ages raise which
violation: under 16 is child labour (禁止使用童工规定 Art 2), under 14 also a criminal referral
(Art 11), under 18 in an entertainment venue is a minor employed (娱乐场所管理条例 Art 24, acted on
by the labour department under Art 52). Within a rule group only the youngest threshold a person is
under applies (one act, one fine: 行政处罚法 Art 29).

Numbers never leave this module in clear: a person is shown by the masked number, matched by its
HMAC, and stored encrypted (AES-256-GCM) for the roles that must read it in full (police liaisons,
for referrals: ``id_numbers.reveal``), each reading audited.
"""
from __future__ import annotations

import base64
import calendar
import hashlib
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable

from flask import current_app

from ..pii import InvalidIdNumber, birth_date, id_hmac, mask_id, normalise_id_number
from .catalogue import AGE_COUNTING, ChecklistItem

TOKEN_PREFIX = "idv1"
_AAD = b"inspect_app resident identity number"


# --------------------------------------------------------------------------------------------
# Ages

def anniversary(born: date, years: int) -> date:
    """The ``years``-th birthday; 29 February falls on 28 February in a common year (民法典 Art 202:
    no corresponding day in the month, so the month's last day)."""
    year = born.year + years
    return date(year, born.month, min(born.day, calendar.monthrange(year, born.month)[1]))


def age_reached_on(born: date, years: int, counts_from: str = "day_after_birthday") -> date:
    """The first day on which someone born on ``born`` is ``years`` full years old."""
    if counts_from not in AGE_COUNTING:
        raise ValueError(f"counts_from must be one of {AGE_COUNTING}")
    day = anniversary(born, years)
    return day + timedelta(days=1) if counts_from == "day_after_birthday" else day


def age_on(born: date, on: date, counts_from: str = "day_after_birthday") -> int:
    """Full years (周岁) on ``on``; 0 before the first birthday."""
    years = on.year - born.year
    while years > 0 and age_reached_on(born, years, counts_from) > on:
        years -= 1
    return max(years, 0)


def _months_started(since: date, until: date) -> int:
    """Calendar months begun from ``since`` to ``until`` (the penalty is per person per month)."""
    months = (until.year - since.year) * 12 + (until.month - since.month) + (1 if until.day >= since.day else 0)
    return max(months, 1)


# --------------------------------------------------------------------------------------------
# Encryption of full numbers

def _derived_key(secret: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"inspect_app id-number encryption v1").derive(secret.encode("utf-8"))


def _key() -> tuple[bytes, str]:
    key = _derived_key(current_app.config["ID_ENCRYPTION_KEY"])
    return key, hashlib.sha256(key).hexdigest()[:8]


def encrypt_id_number(number: str) -> str:
    """An opaque text token holding the normalised number, AES-256-GCM under the server's key.

    ``idv1:<key id>:<base64 nonce+ciphertext>``; the key id says which key a token needs (for rotation).
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    compact = normalise_id_number(number)
    key, key_id = _key()
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, compact.encode("ascii"), _AAD)
    return f"{TOKEN_PREFIX}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


class UndecryptableIdNumber(ValueError):
    """The token is damaged or was made under another key."""


def decrypt_id_number(token: str) -> str:
    """The full number inside a token (no permission check: callers use :func:`reveal_id_number`)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    try:
        prefix, key_id, payload = token.split(":", 2)
        blob = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (ValueError, AttributeError):
        raise UndecryptableIdNumber("not an identity-number token") from None
    key, current_id = _key()
    if prefix != TOKEN_PREFIX or key_id != current_id:
        raise UndecryptableIdNumber(f"token made under key {key_id}, not the configured key {current_id}")
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], _AAD).decode("ascii")
    except (InvalidTag, ValueError):
        raise UndecryptableIdNumber("the token does not decrypt under the configured key") from None


def reveal_id_number(user, token: str, reason: str, *, context: dict | None = None) -> str:
    """The full number for a user who holds ``id_numbers.reveal``; the reading is audited (the masked
    number, the reason, the reader and ``context``, e.g. where the roster is; never the number).

    Raises PermissionError for anyone else (the number stays masked for them).
    """
    from ..audit.services import record_event
    from ..auth.permissions import has_permission
    from ..extensions import db
    if not has_permission(user, "id_numbers.reveal"):
        raise PermissionError("id_numbers.reveal")
    if not (reason or "").strip():
        raise ValueError("a reason is required to read a full identity number")
    number = decrypt_id_number(token)
    record_event(db.session, "reveal", "id_number", None,
                 after={**(context or {}), "masked": mask_id(number), "reason": reason.strip(),
                        "by": user.username})
    return number


# --------------------------------------------------------------------------------------------
# Evaluation

@dataclass
class RosterPerson:
    """One line of a roster after evaluation; never holds the number in clear (``birth_date`` stays in
    memory for the caller and is left out of both serialised forms)."""

    index: int
    name: str
    post: str | None
    id_masked: str | None
    id_hmac: str | None
    id_encrypted: str | None = field(default=None, repr=False)
    birth_date: date | None = None
    age: int | None = None
    hired_on: date | None = None
    flags: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    error: str | None = None

    def to_stored(self) -> dict:
        """What an answer keeps: masked, HMAC and encrypted number, never the number itself, nor the birth
        date (digits 7-14, exactly what the mask hides: with it the masked form gives the whole number)."""
        return {"index": self.index, "name": self.name, "post": self.post, "id_masked": self.id_masked,
                "id_hmac": self.id_hmac, "id_encrypted": self.id_encrypted, "age": self.age,
                "hired_on": self.hired_on.isoformat() if self.hired_on else None, "flags": list(self.flags),
                "violations": list(self.violations), "error": self.error}

    def to_public(self) -> dict:
        """What a page or the API shows: as stored, without the encrypted number and the HMAC."""
        data = self.to_stored()
        data.pop("id_encrypted")
        data.pop("id_hmac")
        return data


@dataclass
class ProposedViolation:
    code: str
    persons: int
    person_indices: list[int]
    person_months: int | None  # None when a hiring date is missing (per-month fines need it)

    def to_dict(self) -> dict:
        return {"code": self.code, "persons": self.persons, "person_indices": list(self.person_indices),
                "person_months": self.person_months}


@dataclass
class RosterEvaluation:
    inspection_date: date
    item: str | None
    counts_from: str
    people: list[RosterPerson]
    violations: list[ProposedViolation]

    @property
    def invalid_count(self) -> int:
        return sum(1 for p in self.people if "invalid_id" in p.flags or "missing_id" in p.flags)

    @property
    def fails(self) -> bool:
        return bool(self.violations)

    def to_stored(self) -> dict:
        return {"inspection_date": self.inspection_date.isoformat(), "item": self.item,
                "counts_from": self.counts_from, "people": [p.to_stored() for p in self.people],
                "violations": [v.to_dict() for v in self.violations]}


def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def evaluate_roster(entries: Iterable[Any], inspection_date: date, kind: Any = None,
                    item: ChecklistItem | str | None = None, catalogue=None) -> RosterEvaluation:
    """Each person's masked number, age on ``inspection_date``, flags and violations, and the proposed
    violations with their counts.

    ``entries`` are mappings (or objects) with ``name``, ``id_number`` and optionally ``post`` and
    ``hired_on`` (a date or ISO text). The rules are those of ``item`` (a staff-roster item or its
    code), else of the first staff-roster item in ``kind``'s checklists; with neither, ages and
    invalid numbers are still reported but no violation is proposed.
    """
    from .services import current_catalogue
    catalogue = catalogue or current_catalogue()
    kind_code = getattr(kind, "code", kind)
    if isinstance(item, str) or item is None:
        item = catalogue.roster_item(kind_code, item) if kind_code else None
    rules = list((item.roster or {}).get("rules", [])) if item else []
    # the item carries the counting it was loaded (or pinned) with
    counts_from = ((item.roster or {}).get("counts_from") if item else None) \
        or catalogue.parameter("age_counts_from", "day_after_birthday")

    people: list[RosterPerson] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        raw = _field(entry, "id_number")
        person = RosterPerson(index=index, name=str(_field(entry, "name") or "").strip(),
                              post=_field(entry, "post"), id_masked=None, id_hmac=None,
                              hired_on=_as_date(_field(entry, "hired_on")))
        people.append(person)
        if not raw or not str(raw).strip():
            person.flags.append("missing_id")
            continue
        try:
            compact = normalise_id_number(str(raw))
            born = birth_date(compact)
        except (InvalidIdNumber, ValueError) as exc:
            person.flags.append("invalid_id")
            person.error = str(exc)
            continue
        person.id_masked, person.id_hmac = mask_id(compact), id_hmac(compact)
        person.id_encrypted = encrypt_id_number(compact)
        person.birth_date = born
        if born > inspection_date:
            person.flags.append("invalid_id")
            person.error = "birth date after the inspection date"
            continue
        if person.id_hmac in seen:
            person.flags.append("duplicate")
            person.error = f"same number as line {seen[person.id_hmac]}"
            continue
        seen[person.id_hmac] = index
        person.age = age_on(born, inspection_date, counts_from)
        if inspection_date == anniversary(born, person.age + 1) or (
                person.age > 0 and inspection_date == anniversary(born, person.age)):
            person.flags.append("birthday_today")  # the counting rule decided this person's age today
        winners: dict[str, dict] = {}  # per group, the youngest threshold this person is under
        for rule in rules:
            if person.age < rule["under"]:
                best = winners.get(rule["group"])
                if best is None or rule["under"] < best["under"]:
                    winners[rule["group"]] = rule
        person.flags += [f"under_{under}" for under in sorted({r["under"] for r in rules if person.age < r["under"]})]
        person.violations = [r["violation"] for r in rules if winners.get(r["group"]) is r]

    proposed: dict[str, ProposedViolation] = {}
    for person in people:
        for code in person.violations:
            entry = proposed.setdefault(code, ProposedViolation(code, 0, [], 0))
            entry.persons += 1
            entry.person_indices.append(person.index)
            if entry.person_months is not None:
                entry.person_months = (None if person.hired_on is None
                                       else entry.person_months + _months_started(person.hired_on, inspection_date))
    order = {rule["violation"]: n for n, rule in enumerate(rules)}
    return RosterEvaluation(inspection_date=inspection_date, item=item.code if item else None,
                            counts_from=counts_from, people=people,
                            violations=sorted(proposed.values(), key=lambda v: order.get(v.code, 99)))
