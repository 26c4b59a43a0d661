"""Signals of the field inspection, so that cases, referrals and notices can react to it.

Both are sent inside the request's transaction: a receiver that raises rolls the change back.
"""
from blinker import Namespace

_signals = Namespace()

# sender: the app; keyword: violation=<Violation> (after flush, so it has an id)
violation_recorded = _signals.signal("violation-recorded")
# sender: the app; keyword: inspection=<Inspection> (status completed, record frozen)
inspection_completed = _signals.signal("inspection-completed")
