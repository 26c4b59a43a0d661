"""Field inspection services: the tablet pages and the API both go through these functions.

Contract between the back end (this module) and the pages/API (views.py, api.py). Every function
flushes, never commits (the request lifecycle commits), records audit events for what it changes,
and raises:

* :class:`NotOnTeam` (a PermissionError; pages and API answer 403) when the user is not a member
  of the inspection's team (supervisors and admins of the county may read, never write);
* :class:`InspectionStateError` (409) when the inspection's state forbids the change, e.g. any write
  to a completed or cancelled inspection;
* :class:`~inspect_app.errors.InvalidData` (422) with field-level messages in the user's language
  for bad input, e.g. an item code that is not in the pinned checklists;
* :class:`Incomplete` (an InvalidData, 422) from :func:`complete`, whose ``fields`` name every
  missing piece (``answers``, ``evidence``, ``attestations``, ``signatures``, ``check_in`` ...).

Signals (``inspect_app.inspection.signals``) let other areas react without this module knowing
them: ``violation_recorded`` (sender: app, violation=...) and ``inspection_completed`` (sender:
app, inspection=...), both sent inside the transaction, so a receiver's failure rolls back.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import BinaryIO

from ..errors import InvalidData
from .models import Amendment, Answer, Attestation, CheckIn, Evidence, Inspection, Signature, Violation


class NotOnTeam(PermissionError):
    """The user is not an officer of this inspection's team."""


class InspectionStateError(RuntimeError):
    """The inspection's state forbids the change (409): e.g. it is completed, cancelled or not started."""


class Incomplete(InvalidData):
    """Completion refused: ``fields`` lists what is missing."""


# The statement every officer attests before the inspection starts (行政处罚法 Arts 42, 43, 55).
CREDENTIALS_AND_RECUSAL = "credentials_and_recusal"


def assignments_for(user, day: date) -> list[Inspection]:
    """The user's inspections scheduled on ``day`` (plus ones in progress), in route order."""
    raise NotImplementedError


def assignment_summary(inspection: Inspection) -> dict:
    """Plain data for the today page and the API: entity summary (name, kind, address, licence
    state, risk), the last completed inspection's date and outcome, open violations, and the
    coordinates (WGS-84, and a geo: URI) for navigation."""
    raise NotImplementedError


def create_manual_inspection(entity, *, lead_department: str, officers: list, scheduled_date: date,
                             created_by, cause_note: str | None = None) -> Inspection:
    """A planner's single inspection outside a campaign (origin ``manual`` or ``cause``)."""
    raise NotImplementedError


def start_inspection(inspection: Inspection, user, *, party_name: str | None = None,
                     party_role: str | None = None) -> Inspection:
    """Pin the current checklist versions that apply (entity kind and the team's departments, plus the
    joint red-flag list), set ``in_progress`` and ``started_dt``. Idempotent for an inspection in progress."""
    raise NotImplementedError


def attest(inspection: Inspection, user, officer, *, method: str, secret: str | None = None) -> Attestation:
    """Record that ``officer`` showed credentials and told the party of its right to ask for recusal.

    ``method`` is ``session`` when ``officer`` is the signed-in ``user``; a partner confirms on the same
    tablet with ``password`` or ``pin`` and ``secret`` is checked against their account (a wrong secret
    raises InvalidData and counts towards their lock-out). Idempotent per officer."""
    raise NotImplementedError


def check_in(inspection: Inspection, user, *, lat: float, lon: float, accuracy_m: float | None, at: datetime,
             reason: str | None = None) -> CheckIn:
    """Record a WGS-84 fix: distance to the registered location (geopy), flags ``far`` (beyond
    INSPECT_CHECKIN_MAX_DISTANCE_M, default 300; a reason is then required, else InvalidData naming
    ``reason``), ``no_accuracy`` (missing or zero accuracy), ``too_fast`` (faster than 200 km/h since the
    user's previous fix anywhere), ``no_location`` (the premises have no coordinates)."""
    raise NotImplementedError


def pinned_items(inspection: Inspection) -> list[tuple]:
    """[(Checklist, [ChecklistItem applicable to the entity's sub-type])] of the pinned versions."""
    raise NotImplementedError


def save_answer(inspection: Inspection, user, item_code: str, *, result: str | None, value=None,
                note: str | None = None) -> Answer:
    """Create or replace the answer to one item (upsert on (inspection, item)); bumps ``revision``.
    A roster item's ``value`` is the list of people, evaluated and stored with ID numbers encrypted and
    masked (checklist.roster). An item outside the pinned checklists raises InvalidData (422)."""
    raise NotImplementedError


def add_evidence(inspection: Inspection, user, stream: BinaryIO, *, filename: str | None = None,
                 item_code: str | None = None, caption: str | None = None) -> Evidence:
    """Check the file by its content (JPEG, PNG, HEIC/WebP if supported; never SVG, never a PDF renamed
    .jpg), enforce INSPECT_MAX_UPLOAD_BYTES (413 via RequestEntityTooLarge), store the original under
    INSPECT_DATA_DIR by its SHA-256, read EXIF time and GPS, write a downscaled JPEG for display.
    The same file twice on one inspection returns the existing row (no duplicate)."""
    raise NotImplementedError


def proposed_violations(inspection: Inspection) -> list[dict]:
    """For each failed item without a recorded violation: the catalogue entry it raises, with basis,
    penalty range text, acting department and whether it is a suspected crime."""
    raise NotImplementedError


def record_violation(inspection: Inspection, user, *, type_code: str, description: str,
                     item_code: str | None = None, evidence_ids: tuple = (),
                     quantities: dict | None = None) -> Violation:
    """A confirmed violation. A suspected crime (catalogue ``criminal_referral``) also creates an urgent
    Referral to police due 24 hours later, and marks the violation ``restricted`` (possible victims)."""
    raise NotImplementedError


def sign(inspection: Inspection, user, *, role: str, signer_name: str, png: bytes | None = None,
         officer=None, refused: bool = False, note: str | None = None) -> Signature:
    """Store a drawn signature (PNG checked by content, hashed) in its slot, or the party's refusal
    (``refused=True``; a witness then signs with role ``witness``)."""
    raise NotImplementedError


def missing_for_completion(inspection: Inspection) -> dict[str, list[str]]:
    """What stops completion, by field: unanswered required items, evidence required by failed items,
    fewer than two attesting officers with credential numbers, a missing check-in, officers' and the
    party's signatures (or a refusal with a witness)."""
    raise NotImplementedError


def complete(inspection: Inspection, user) -> Inspection:
    """Refuse with :class:`Incomplete` listing what is missing; else freeze: status ``completed``, the
    outcome, the plain JSON record and its SHA-256. A second call raises InspectionStateError (409)."""
    raise NotImplementedError


def amend(inspection: Inspection, user, *, reason: str, changes: dict) -> Amendment:
    """A correction to a completed inspection, kept beside the frozen record."""
    raise NotImplementedError
