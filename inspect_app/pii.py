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


# --------------------------------------------------------------------------------------------
# Sealed personal data: victims' details in referrals, tip-off reporters' contacts.

SEAL_PREFIX = "sv1"


class UnsealableData(ValueError):
    """The token is damaged, was sealed for another purpose or under another key."""


def _seal_key(purpose: str) -> tuple[bytes, str]:
    """A key per purpose, derived (HKDF) from INSPECT_ID_ENCRYPTION_KEY, and its short id."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    secret = current_app.config["ID_ENCRYPTION_KEY"].encode("utf-8")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"inspect_app sealed data v1 " + purpose.encode("ascii")).derive(secret)
    return key, hashlib.sha256(key).hexdigest()[:8]


def seal_text(text: str, purpose: str) -> str:
    """``sv1:<purpose>:<key id>:<base64 nonce+ciphertext>`` (AES-256-GCM, the purpose bound as AAD):
    a token sealed for one purpose never opens as another."""
    import base64
    import os

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    key, key_id = _seal_key(purpose)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode("utf-8"), purpose.encode("ascii"))
    return f"{SEAL_PREFIX}:{purpose}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def open_text(token: str, purpose: str) -> str:
    """The text inside a sealed token; callers check permissions and audit the reading."""
    import base64

    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    try:
        prefix, token_purpose, key_id, payload = token.split(":", 3)
        blob = base64.urlsafe_b64decode(payload.encode("ascii"))
    except (ValueError, AttributeError):
        raise UnsealableData("not a sealed token") from None
    key, current_id = _seal_key(purpose)
    if prefix != SEAL_PREFIX or token_purpose != purpose or key_id != current_id:
        raise UnsealableData(f"sealed for {token_purpose!r} under key {key_id}, not {purpose!r} under {current_id}")
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], purpose.encode("ascii")).decode("utf-8")
    except (InvalidTag, ValueError):
        raise UnsealableData("the token does not open under the configured key") from None
