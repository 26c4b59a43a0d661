"""The credit-code check's fast path (codes.py) agrees with python-stdnum on every code it meets."""
from __future__ import annotations

import random

import pytest
from stdnum.cn import uscc

from inspect_app.registry.codes import (InvalidCreditCode, _plainly_valid, make_credit_code, normalise_credit_code,
                                        validate_credit_code)

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _codes(count: int, seed: int = 20261130):
    """Valid codes, and each one mistyped in one character (any ASCII letter or digit)."""
    rng = random.Random(seed)
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for serial in range(count):
        code = make_credit_code(rng.choice(["140602", "140681", "110101"]), rng.randrange(10 ** 8),
                                rng.choice(["91", "92", "52", "12"]))
        yield code
        position = rng.randrange(18)
        yield code[:position] + rng.choice(chars) + code[position + 1:]
        yield "".join(rng.choice(ALPHABET) for _ in range(18))  # random: about one in 31 is valid


def test_fast_path_agrees_with_stdnum():
    seen = {True: 0, False: 0}
    for code in _codes(4000):
        expected = uscc.is_valid(code)
        assert _plainly_valid(code) is expected, code
        seen[expected] += 1
    assert seen[True] > 4000 and seen[False] > 4000  # both sides were exercised


@pytest.mark.parametrize("raw", ["91140602MA0KXXXXX", "9114060200000000XX", "91140602000000000", "",
                                 "911406020000000001X", "9114O6020000000001", "91140602ÀA0000001X"])
def test_anything_not_plainly_valid_is_decided_by_stdnum(raw):
    code = normalise_credit_code(raw) or ""
    assert not _plainly_valid(code)
    if raw:
        with pytest.raises(InvalidCreditCode):
            validate_credit_code(raw)


def test_normalisation_of_plain_ascii_matches_the_unicode_path():
    code = make_credit_code("140602", 1234567)
    assert normalise_credit_code(code.lower()) == code
    assert normalise_credit_code(" " + code[:6] + "-" + code[6:] + " ") == code
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code)
    assert normalise_credit_code(full_width) == code
    assert validate_credit_code(full_width) == uscc.validate(code)
