"""No install line points at a release that does not exist (issue 11, item 13).

keywire is not on the package index yet: ``pip install 'keywire[flask]'`` fails, and invites
someone else to register the name. Every ``pip install`` in the README, the docs, the examples
and the text keywire prints (rule remediation, "How to fix" snippets, error messages) must work
from where its reader is: a checkout (``.``, a path), a built wheel, or another package.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from keywire.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
_PIP = re.compile(r"pip install ([^\n`#]+)")
# A requirement that pip would fetch from the index under keywire's name.
_FROM_INDEX = re.compile(r"^keywire(\[[^\]]*\])?([<>=!~ ;].*)?$", re.IGNORECASE)


def _sources() -> list[Path]:
    paths = [ROOT / "README.md", ROOT / "action.yml", ROOT / ".ci" / "run"]
    for pattern in ("docs/**/*.md", "src/**/*.py", "examples/**/*.py", "bench/**/*.md"):
        paths += sorted(ROOT.glob(pattern))
    return [p for p in paths if p.is_file()]


def _offenders(text: str) -> list[str]:
    found = []
    for match in _PIP.finditer(text):
        try:
            words = shlex.split(match.group(1).strip().rstrip("\\"), posix=True)
        except ValueError:
            words = match.group(1).split()
        for word in words:
            if word in ("&&", "||", ";", "|"):
                break  # the next command
            if word.startswith("-"):
                continue
            if _FROM_INDEX.match(word.strip("'\"")):
                found.append(match.group(0).strip())
    return found


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("pip install 'keywire[flask]'", True),
        ('pip install "keywire[flask,sqlalchemy]"', True),
        ("pip install keywire", True),
        ("pip install keywire==0.1.0", True),
        ("pip install '.[flask]'", False),
        ('pip install "$KEYWIRE_CHECKOUT[flask]"', False),
        ("pip install -e '.[dev]'", False),
        ("pip install 'dist/keywire-0.1.0-py3-none-any.whl[flask]'", False),
        ("pip install 'flask>=3.0'", False),
        ("pip install sslyze==6.3.1", False),
        ("pip install '.[flask]' && keywire demo", False),
    ],
)
def test_the_check_itself(line, bad):
    assert bool(_offenders(line)) is bad


def test_no_install_line_points_at_the_package_index():
    offenders = []
    for path in _sources():
        for line in _offenders(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}: {line}")
    assert offenders == []


def test_rule_remediation_snippets_install_nothing_that_does_not_exist():
    """The "How to fix" code of every rule, as reports print it."""
    offenders = []
    for rule in RULES.values():
        for value in vars(rule).values():
            if isinstance(value, str):
                offenders += [f"{rule.id}: {line}" for line in _offenders(value)]
    assert offenders == []
