"""Unified social credit codes (统一社会信用代码, GB 32100-2015), validated with python-stdnum."""
from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from stdnum import exceptions
from stdnum.cn import uscc


class InvalidCreditCode(ValueError):
    """The code is not a valid credit code; ``args[0]`` is a message for the user."""


def normalise_credit_code(value: str | None) -> str | None:
    """Full-width to half-width (NFKC), spaces and dashes removed, upper case; None when empty."""
    if value is None:
        return None
    text = str(value)
    if text.isascii() and text.isalnum():  # the usual case: nothing to normalise but the case
        return text.upper() or None
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "-_")
    return text.upper() or None


# GB 32100-2015's alphabet and weights, as python-stdnum's ``stdnum.cn.uscc`` has them.
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {ch: index for index, ch in enumerate(_ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _plainly_valid(code: str) -> bool:
    """True for a normalised code that stdnum would accept, without stdnum's Unicode cleaning.

    ``uscc.validate`` cleans every character through a table of look-alikes twice (once more in
    ``calc_check_digit``), about 20 us a code: a third of checking a 50,000-row import
    (bench/bench_import.py). Our normalisation has already done that cleaning, so a code that
    passes here is the code stdnum returns; anything else goes to stdnum, which says what is
    wrong. ``tests/test_registry_codes.py`` holds the two equal over random and mistyped codes."""
    if len(code) != 18 or not code[:8].isdigit() or not code.isascii():
        return False
    values = _VALUES
    try:
        total = sum(values[ch] * weight for ch, weight in zip(code, _WEIGHTS))
        return values[code[17]] == (31 - total % 31) % 31
    except KeyError:
        return False


def validate_credit_code(value: str | None) -> str:
    """The normalised code, or InvalidCreditCode saying what is wrong."""
    code = normalise_credit_code(value)
    if not code:
        raise InvalidCreditCode(_l("The credit code is empty."))
    if _plainly_valid(code):
        return code
    try:
        return uscc.validate(code)
    except exceptions.InvalidLength:
        raise InvalidCreditCode(_l("A credit code has 18 characters; this one has %(n)d.", n=len(code))) from None
    except exceptions.InvalidFormat:
        bad = sorted({ch for ch in code if ch in "IOZSV"})
        if bad:
            raise InvalidCreditCode(_l("A credit code never contains the letters I, O, Z, S or V (found %(bad)s).",
                                       bad=", ".join(bad))) from None
        raise InvalidCreditCode(_l("Characters 3 to 8 must be digits (the region code); only digits and "
                                   "capital letters are allowed.")) from None
    except exceptions.InvalidChecksum:
        raise InvalidCreditCode(_l("The last character (the check character) does not match: "
                                   "the code is mistyped.")) from None
    except exceptions.ValidationError:
        raise InvalidCreditCode(_l("Not a valid credit code.")) from None


def make_credit_code(region_code: str, serial: int, kind: str = "91") -> str:
    """A valid synthetic code for demo data and tests: kind + region + organisation code + check.

    The organisation code (GB 11714) gets its own check character too (domain.md 8.2), so the
    synthetic codes pass both checks like real ones; the final character comes from stdnum.
    """
    body = f"{serial:08d}"[-8:]
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    org_check = 11 - total % 11
    org = body + ("X" if org_check == 10 else "0" if org_check == 11 else str(org_check))
    partial = kind + region_code + org
    return partial + uscc.calc_check_digit(partial)
