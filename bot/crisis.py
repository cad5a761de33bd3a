"""Crisis lines per region: shown at once, before anything else, to anyone who may need them."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.catalogue import Catalogue

DATA_FILE = Path(__file__).parent / "data" / "crisis_lines.toml"
DEFAULT_REGION = "UK"
#: Region spellings people use, mapped to the key the data file uses.
REGION_ALIASES = {"GB": "UK", "EN": "UK", "ENG": "UK", "WLS": "UK", "SCT": "UK", "NIR": "UK"}


@dataclass(frozen=True)
class CrisisLine:
    """One service: its name, how to reach it, and when."""

    name: str
    contact: str
    detail: str = ""
    locales: tuple[str, ...] = field(default=())


def country_of(region: str) -> str:
    """The country part of a region such as ``UK-WLS`` or ``gb``, normalised (``UK``)."""
    country = region.strip().upper().split("-")[0] or DEFAULT_REGION
    return REGION_ALIASES.get(country, country)


class CrisisDirectory:
    """Finds the lines for a person's region, with config overrides on top of built-ins."""

    def __init__(self, lines: dict[str, tuple[CrisisLine, ...]]) -> None:
        self._lines = lines

    @classmethod
    def load(
        cls,
        custom: dict[str, list[CrisisLine]] | None = None,
        data_file: Path = DATA_FILE,
    ) -> CrisisDirectory:
        """Built-in lines plus ``custom`` ones (from ``[crisis_lines]``) after them.

        Custom lines add to the built-in ones rather than replace them, so adding an
        employee assistance line can never drop Samaritans by accident.
        """
        with data_file.open("rb") as handle:
            raw = tomllib.load(handle)
        lines = {
            country_of(region): tuple(
                CrisisLine(
                    name=entry["name"],
                    contact=entry["contact"],
                    detail=entry.get("detail", ""),
                    locales=tuple(entry.get("locales", ())),
                )
                for entry in entries
            )
            for region, entries in raw.items()
        }
        for region, entries in (custom or {}).items():
            country = country_of(region)
            lines[country] = (*lines.get(country, ()), *entries)
        return cls(lines)

    def lines_for(self, region: str, locale: str = "en") -> tuple[CrisisLine, ...]:
        """Lines for the region (UK when the region is unknown), filtered by language."""
        lines = self._lines.get(country_of(region)) or self._lines[DEFAULT_REGION]
        return tuple(line for line in lines if not line.locales or locale in line.locales)

    def render(self, catalogue: Catalogue, region: str, locale: str) -> str:
        """The crisis lines as a message, introduction first."""
        parts = [catalogue.text(locale, "support.crisis_intro")]
        for line in self.lines_for(region, locale):
            key = "support.line_with_detail" if line.detail else "support.line"
            parts.append(
                catalogue.text(
                    locale, key, name=line.name, contact=line.contact, detail=line.detail
                )
            )
        return "\n".join(parts)
