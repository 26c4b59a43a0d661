"""Personal identity numbers (居民身份证号): validated with python-stdnum, never stored in clear.

Matching uses an HMAC-SHA256 under a server-side key (a bare hash of an 18-character ID number
is brute-forced in hours); display uses a masked form.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import date

from flask import current_app
from stdnum.cn import ric
from stdnum.exceptions import ValidationError


class InvalidIdNumber(ValueError):
    """Not a valid resident identity card number; the message says why."""


def normalise_id_number(value: str) -> str:
    """Validate and return the compact upper-case form (raises InvalidIdNumber)."""
    text = (value or "").translate(_FULLWIDTH).replace(" ", "").strip().upper()
    try:
        return ric.validate(text)
    except ValidationError as exc:
        raise InvalidIdNumber(str(exc.message)) from None


def id_hmac(number: str) -> str:
    key = current_app.config["ID_HMAC_KEY"].encode()
    return hmac.new(key, normalise_id_number(number).encode(), hashlib.sha256).hexdigest()


def mask_id(number: str) -> str:
    """140602********123X: region and last four only."""
    compact = normalise_id_number(number)
    return compact[:6] + "*" * (len(compact) - 10) + compact[-4:]


def birth_date(number: str) -> date:
    return ric.get_birth_date(normalise_id_number(number))


_FULLWIDTH = {0xFF10 + i: ord("0") + i for i in range(10)}
_FULLWIDTH.update({0xFF21 + i: ord("A") + i for i in range(26)})
_FULLWIDTH.update({0xFF41 + i: ord("a") + i for i in range(26)})
_FULLWIDTH[0x3000] = ord(" ")
