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
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "-_")
    return text.upper() or None


def validate_credit_code(value: str | None) -> str:
    """The normalised code, or InvalidCreditCode saying what is wrong."""
    code = normalise_credit_code(value)
    if not code:
        raise InvalidCreditCode(_l("The credit code is empty."))
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
