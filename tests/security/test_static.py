"""The static security checks `make test` runs, also run here so a plain pytest sees them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["bot", "storage", "adapters", "kiln"]


def test_bandit_finds_no_high_severity_issue() -> None:
    scan = subprocess.run(
        [str(BIN / "bandit"), "-q", "-r", *PACKAGES, "--severity-level", "high", "-f", "txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert scan.returncode == 0, scan.stdout + scan.stderr


def test_ruff_security_rules_are_clean() -> None:
    lint = subprocess.run(
        [str(BIN / "ruff"), "check", "--select", "S", "--quiet", *PACKAGES, "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
