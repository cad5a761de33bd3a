"""The engine stays platform-free (DESIGN §8, STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("adapters", "slack_bolt", "slack_sdk", "telegram", "kiln")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: p.name)
def test_engine_imports_no_platform_and_no_adapter(path: Path) -> None:
    bad = sorted(
        name
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN or name.startswith("slack")
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda p: p.name)
def test_storage_imports_neither_engine_nor_platforms(path: Path) -> None:
    bad = sorted(
        name for name in imported_modules(path) if name.split(".")[0] in (*FORBIDDEN, "bot")
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_guard_would_catch_a_platform_import(tmp_path: Path) -> None:
    module = tmp_path / "leaky.py"
    module.write_text(
        "import telegram\n"
        "from slack_bolt.async_app import AsyncApp\n"
        "from adapters.console import X\n"
    )
    assert imported_modules(module) == {"telegram", "slack_bolt.async_app", "adapters.console"}
