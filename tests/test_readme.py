"""README.md renders as written: code fences closed, and the demo logins it lists are the ones seed-demo creates."""
import re

from inspect_app.config import PROJECT_ROOT
from inspect_app.demo.cli import DEMO_USERS

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8").splitlines()


def _outside_fences() -> list[str]:
    lines, fenced = [], False
    for line in README:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _section(title: str) -> list[str]:
    lines = _outside_fences()
    start = lines.index(f"## {title}") + 1
    end = next((n for n in range(start, len(lines)) if lines[n].startswith("## ")), len(lines))
    return lines[start:end]


def test_code_fences_are_closed():
    fences = [n + 1 for n, line in enumerate(README) if line.startswith("```")]
    assert len(fences) % 2 == 0, f"an unclosed ``` among the fences on lines {fences}"


def test_every_section_heading_is_outside_a_code_block():
    headings = [line for line in README if line.startswith("## ")]
    assert [line for line in _outside_fences() if line.startswith("## ")] == headings
    assert {"## Demo logins", "## API"} <= set(headings)


def test_demo_logins_table_lists_every_demo_account():
    rows = [line for line in _section("Demo logins") if line.startswith("| `")]
    listed = [name for row in rows for name in re.findall(r"`([^`]+)`", row.split("|")[1])]
    assert sorted(listed) == sorted(username for username, *_ in DEMO_USERS)
