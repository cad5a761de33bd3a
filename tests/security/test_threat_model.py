"""docs/SECURITY.md names a test for every threat; each one it names must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
THREATS = [
    "Spoofed Slack requests",
    "Spoofed Telegram updates",
    "Replayed events",
    "Stolen or guessed sign-in links",
    "Session theft",
    "CSRF",
    "Clickjacking",
    "SQL injection",
    "Data exposure through aggregates and differencing",
    "Secrets in logs",
    "Secrets at rest",
    "Denial of service by floods",
    "Malicious or broken roster and config files",
    "Insider: a manager trying to identify a person",
    "Insider: volunteer overreach",
]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_test_the_threat_model_names_exists() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    references = REFERENCE.findall(text)
    assert len(references) > 40
    missing = [
        f"{path}::{name}"
        for path, name in references
        if not (ROOT / path).is_file() or name not in _tests_in(ROOT / path)
    ]
    assert missing == []


def test_every_threat_of_the_issue_has_a_row() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| **")]
    for threat in THREATS:
        row = next((r for r in rows if f"**{threat}" in r), None)
        assert row is not None, threat
        assert REFERENCE.search(row), f"no test named for {threat}"
