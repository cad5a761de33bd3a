"""The message catalogue: kiln's words, one TOML file per locale under ``prompts/``.

A key missing from a locale falls back to English, so a partial translation is
still safe to ship.
"""

from __future__ import annotations

import logging
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

FALLBACK_LOCALE = "en"
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


class CatalogueError(Exception):
    """A key is missing even from the English catalogue, or a file is malformed."""


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str | list[str]]:
    flat: dict[str, str | list[str]] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            flat[name] = value
        else:
            raise CatalogueError(f"{name}: expected text or a list of texts")
    return flat


class Catalogue:
    """Looks up messages by dotted key (``checkin.note_prompt``) for a locale."""

    def __init__(self, entries: dict[str, dict[str, str | list[str]]]) -> None:
        if FALLBACK_LOCALE not in entries:
            raise CatalogueError("the English catalogue (en) is required")
        self._entries = entries

    @classmethod
    def load(cls, directory: Path = PROMPTS_DIR) -> Catalogue:
        """Read every ``<locale>.toml`` in ``directory``."""
        entries: dict[str, dict[str, str | list[str]]] = {}
        for path in sorted(directory.glob("*.toml")):
            try:
                with path.open("rb") as handle:
                    entries[path.stem] = _flatten(tomllib.load(handle))
            except tomllib.TOMLDecodeError as exc:
                raise CatalogueError(f"{path} is not valid TOML: {exc}") from exc
        return cls(entries)

    @property
    def locales(self) -> tuple[str, ...]:
        """Every locale with a catalogue file."""
        return tuple(sorted(self._entries))

    def keys(self, locale: str = FALLBACK_LOCALE) -> frozenset[str]:
        """The keys a locale defines itself (without fallback)."""
        return frozenset(self._entries.get(locale, {}))

    def _raw(self, locale: str, key: str) -> str | list[str]:
        for candidate in (locale, locale.split("-")[0], FALLBACK_LOCALE):
            value = self._entries.get(candidate, {}).get(key)
            if value is not None:
                return value
        raise CatalogueError(f"no message for key {key!r}")

    def text(self, locale: str, key: str, **values: object) -> str:
        """The message for ``key`` in ``locale`` with placeholders filled in."""
        raw = self._raw(locale, key)
        if isinstance(raw, list):
            raise CatalogueError(f"{key} is a list; use variants()")
        return raw.format(**values) if values else raw

    def variants(self, locale: str, key: str) -> list[str]:
        """A list-valued entry, such as the greeting variants."""
        raw = self._raw(locale, key)
        return [raw] if isinstance(raw, str) else list(raw)

    def day(self, locale: str, when: date) -> str:
        """A date the way people say it: "Thursday 26 November"."""
        return self.text(
            locale,
            "days.format",
            weekday=self.variants(locale, "days.weekdays")[when.weekday()],
            day=when.day,
            month=self.variants(locale, "days.months")[when.month - 1],
        )
