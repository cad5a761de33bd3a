"""Screens a check-in note for crisis or distress language, fast and in memory.

The note is never stored or logged: callers pass the text in, get an
:class:`Assessment` back, and drop the text. Only the ids of the patterns that
matched leave this module.

How a note is judged:

1. It is normalised (:func:`normalise`): NFKC, casefold, invisible characters
   removed, apostrophes dropped, punctuation turned into clause breaks, emoji
   split into their own tokens, and runs of one letter squeezed.
2. Curated patterns from ``bot/data/distress_patterns.toml`` are matched. Each
   has an id, a class (crisis or distress) and, for distress, a weight.
3. Guards (idioms, accidents, third parties, explicit denials) remove matches
   they overlap, and negatable distress cues are dropped when a negation such as
   "not" or "no" comes shortly before them in the same clause.
4. Any crisis match wins. Otherwise the weights of the distinct distress ids are
   summed; a strong cue (1.0), or two weak ones (0.5 each), make it distress,
   and laughter or "but fine" (-0.5) can cancel one of them.

The pattern file says why each pattern exists; change it, not this module, to
tune what is caught. ``benchmarks/detector.py`` reports how it does on the
labelled evaluation set.
"""

from __future__ import annotations

import logging
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PATTERNS_FILE = Path(__file__).parent / "data" / "distress_patterns.toml"
SCHEMA_VERSION = 1

_ID_RE = re.compile(r"^(?:crisis|distress|guard)(?:\.[a-z0-9_]+)+$")
_MACRO_RE = re.compile(r"\{([a-z_]+)\}")
_MAX_MACRO_DEPTH = 5

# Characters that change nothing a reader sees but split words for a regex:
# zero-width spaces and joiners, soft hyphens, bidi marks, variation selectors,
# tag characters. Removed before matching.
_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xE0000, 0xE007F),
    (0xE0100, 0xE01EF),
)
# Apostrophe look-alikes are deleted outright so that "can't", "can’t" and
# "cant" read the same; the patterns are written without apostrophes.
_APOSTROPHES = "'`´‘’‚‛′ʹʻʼʽˈ＇"
# Clause punctuation becomes a "." token, which both ends a negation's reach
# and stops word gaps in patterns from running across sentences.
_CLAUSE_PUNCTUATION = '.!?;:,()[]{}"“”„‟«»‹›¡¿。'
_SPACE_PUNCTUATION = "-‐‑‒–—―_/\\|*~+=<>#&@^%$£€•·…"


def _build_translation() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for low, high in _INVISIBLE_RANGES:
        for code in range(low, high + 1):
            table[code] = None
    for char in _APOSTROPHES:
        table[ord(char)] = None
    for char in _CLAUSE_PUNCTUATION:
        table[ord(char)] = " . "
    for char in _SPACE_PUNCTUATION:
        table[ord(char)] = " "
    for code in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0xA0, 0x2028, 0x2029):
        table[code] = " "
    return table


_TRANSLATION = _build_translation()
# Anything left that is neither a word character, a space nor our "." is an
# emoji or symbol: give it its own token so "tired😭" reads as "tired 😭".
_SYMBOL_RE = re.compile(r"([^\w\s.])")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")
_DOTS_RE = re.compile(r"\.(?: \.)+")


class Level(StrEnum):
    """How urgently a note needs a response."""

    CRISIS = "crisis"
    DISTRESS = "distress"
    NONE = "none"


@dataclass(frozen=True)
class Assessment:
    """The verdict on one note.

    Attributes:
        level: Crisis, distress or none.
        reasons: Ids of the patterns that decided the level, in order of first
            appearance (for example ``crisis.suicidal_ideation.end_it_all``).
            Empty when the level is ``NONE``.
    """

    level: Level
    reasons: tuple[str, ...]


class PatternFileError(ValueError):
    """The pattern data is malformed: a bad id, regex, weight or section."""


@dataclass(frozen=True)
class _Rule:
    id: str
    weight: float
    negatable: bool
    regex: re.Pattern[str]


@dataclass(frozen=True)
class _Compiled:
    """One class of rules, plus one alternation of them all to find candidates fast.

    The finder matches a space followed by any rule, so it only ever considers
    token starts (the space is a literal prefix the engine skips to quickly);
    the rule itself starts one character after the finder's match.
    """

    finder: re.Pattern[str]
    rules: tuple[_Rule, ...]


def _prepare(text: str) -> str:
    """Every normalisation step except squeezing repeated letters."""
    text = unicodedata.normalize("NFKC", text.translate(_TRANSLATION)).casefold()
    # NFKC can produce new apostrophes or punctuation (fullwidth forms), so the
    # table is applied again after it.
    text = text.translate(_TRANSLATION)
    text = _SYMBOL_RE.sub(r" \1 ", text)
    text = " ".join(text.split())
    return _DOTS_RE.sub(".", text)


def normalise(text: str) -> str:
    """Returns the canonical form of a note that the patterns are written for.

    Args:
        text: The raw note.

    Returns:
        Casefolded, NFKC-normalised text with invisible characters and
        apostrophes removed, clause punctuation as ``.`` tokens, emoji as their
        own tokens and single spaces. Runs of three or more of one letter are
        squeezed to two ("soooo" becomes "soo"); see :func:`reading_variants`.
    """
    return _REPEAT_RE.sub(r"\1\1", _prepare(text))


def reading_variants(text: str) -> tuple[str, ...]:
    """Returns the normalised note, plus a second reading if letters were repeated.

    "soooo tiiired" cannot be squeezed to one right answer: two letters keeps
    "sleep" and "kill" intact, one letter restores "tired". Both are screened.

    Args:
        text: The raw note.

    Returns:
        One or two normalised strings, the two-letter reading first.
    """
    prepared = _prepare(text)
    if _REPEAT_RE.search(prepared) is None:
        return (prepared,)
    return (_REPEAT_RE.sub(r"\1\1", prepared), _REPEAT_RE.sub(r"\1", prepared))


def _expand_macros(pattern: str, macros: Mapping[str, str], where: str) -> str:
    for _ in range(_MAX_MACRO_DEPTH):
        if _MACRO_RE.search(pattern) is None:
            return pattern

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in macros:
                raise PatternFileError(f"{where}: unknown macro {{{name}}}")
            return macros[name]

        pattern = _MACRO_RE.sub(substitute, pattern)
    raise PatternFileError(f"{where}: macros nest deeper than {_MAX_MACRO_DEPTH}")


_NEVER = r"(?!x)x"
# Matching runs on ". " + the note: the leading space lets the finders see the
# first token, and the "." makes the start a clause break like any other, so
# a pattern can say "at the start of a clause" with (?<=\. ).
_START = ". "


def _compile_entry(
    entry_id: str, patterns: Sequence[str], macros: Mapping[str, str], section: str
) -> re.Pattern[str]:
    """One entry's patterns as a single whole-token alternation, macros expanded."""
    where = f"{section} {entry_id}"
    sources = [_expand_macros(pattern, macros, where) for pattern in patterns]
    # Whole tokens only: "stress" must not match inside "stressful". The start
    # of a token is guaranteed by the caller (see _Compiled), which keeps each
    # alternative starting with a literal the regex engine can reject in one
    # comparison.
    joined = "|".join(f"(?:{source})(?!\\S)" for source in sources)
    try:
        compiled = re.compile(joined)
    except re.error:
        # Compiling each pattern alone is slow, so it is only done to name
        # the culprit.
        for pattern, source in zip(patterns, sources, strict=True):
            try:
                re.compile(source)
            except re.error as error:
                raise PatternFileError(f"{where}: bad regex {pattern!r}: {error}") from error
        raise PatternFileError(f"{where}: patterns do not combine into one regex") from None
    if compiled.groups:
        # Capturing groups cost time and would tempt code to depend on them.
        raise PatternFileError(f"{where}: use (?:...) instead of capturing groups")
    return compiled


def _as_str_list(value: object, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return list(value)
    raise PatternFileError(f"{where}: expected a non-empty list of strings")


class Detector:
    """Holds the compiled patterns and classifies notes.

    Build one with :meth:`from_file` (or :meth:`from_mapping` for tests); the
    module-level :func:`classify` uses a cached one loaded from the default file.
    A detector is immutable and safe to share between threads and tasks.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Validates and compiles pattern data already parsed from TOML.

        Args:
            config: The parsed pattern file.

        Raises:
            PatternFileError: If the data is malformed.
        """
        schema = config.get("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            raise PatternFileError(f"unsupported schema {schema!r}, expected {SCHEMA_VERSION}")
        settings = config.get("settings", {})
        self._threshold = float(settings.get("distress_threshold", 1.0))
        self._window = int(settings.get("negation_window", 3))
        if self._threshold <= 0 or self._window < 1:
            raise PatternFileError("distress_threshold must be > 0 and negation_window >= 1")

        macros = config.get("macros", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in macros.items()):
            raise PatternFileError("[macros] must map names to strings")

        seen: set[str] = set()
        self._crisis = self._compile_rules(config.get("crisis", []), "crisis", macros, seen)
        self._distress = self._compile_rules(config.get("distress", []), "distress", macros, seen)
        self._crisis_guards, self._distress_guards = self._compile_guards(
            config.get("guard", []), macros, seen
        )

        negation = config.get("negation", {})
        cues = _as_str_list(negation.get("cues", ["not"]), "[negation] cues")
        breaks = _as_str_list(negation.get("clause_breaks", [r"\."]), "[negation] clause_breaks")
        try:
            self._negation = re.compile(
                "|".join(rf"(?<!\S)(?:{_expand_macros(c, macros, 'negation')})(?!\S)" for c in cues)
            )
            self._clause_break = re.compile(
                "|".join(
                    rf"(?<!\S)(?:{_expand_macros(b, macros, 'negation')})(?!\S)" for b in breaks
                )
            )
        except re.error as error:
            raise PatternFileError(f"[negation]: bad regex: {error}") from error
        logger.debug(
            "distress patterns loaded: %d crisis, %d distress, %d guard entries",
            len(self._crisis.rules),
            len(self._distress.rules),
            len(config.get("guard", [])),
        )

    @classmethod
    def from_file(cls, path: Path) -> Detector:
        """Loads and compiles a pattern file.

        Args:
            path: A TOML file in the format of ``bot/data/distress_patterns.toml``.

        Returns:
            A ready detector.

        Raises:
            PatternFileError: If the file is not valid TOML or the data is malformed.
            OSError: If the file cannot be read.
        """
        with path.open("rb") as handle:
            try:
                config = tomllib.load(handle)
            except tomllib.TOMLDecodeError as error:
                raise PatternFileError(f"{path}: {error}") from error
        return cls(config)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> Detector:
        """Compiles pattern data given as a mapping (the parsed TOML).

        Args:
            config: The parsed pattern data.

        Returns:
            A ready detector.
        """
        return cls(config)

    @property
    def rule_ids(self) -> frozenset[str]:
        """Every crisis and distress rule id this detector can report."""
        return frozenset(rule.id for rule in (*self._crisis.rules, *self._distress.rules))

    def classify(self, text: str) -> Assessment:
        """Classifies one note.

        Args:
            text: The free-text note, any length. Never logged or stored.

        Returns:
            The level and the ids of the patterns that decided it.
        """
        variants = reading_variants(text)
        crisis = self._hits(variants, self._crisis, self._crisis_guards)
        if crisis:
            return Assessment(Level.CRISIS, tuple(rule.id for rule in crisis))
        distress = self._hits(variants, self._distress, self._distress_guards)
        score = sum(rule.weight for rule in distress)
        if score >= self._threshold:
            return Assessment(
                Level.DISTRESS, tuple(rule.id for rule in distress if rule.weight > 0)
            )
        return Assessment(Level.NONE, ())

    @staticmethod
    def _compile_rules(
        raw: object, section: str, macros: Mapping[str, str], seen: set[str]
    ) -> _Compiled:
        if not isinstance(raw, list):
            raise PatternFileError(f"[[{section}]] must be an array of tables")
        rules: list[_Rule] = []
        for entry in raw:
            entry_id = Detector._checked_id(entry, section, seen)
            patterns = _as_str_list(entry.get("patterns"), f"{section} {entry_id} patterns")
            weight = entry.get("weight", 1.0)
            if section == "crisis" and "weight" in entry:
                raise PatternFileError(f"{entry_id}: crisis entries have no weight")
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight == 0:
                raise PatternFileError(f"{entry_id}: weight must be a non-zero number")
            negatable = entry.get("negatable", False)
            if not isinstance(negatable, bool):
                raise PatternFileError(f"{entry_id}: negatable must be true or false")
            regex = _compile_entry(entry_id, patterns, macros, section)
            rules.append(_Rule(entry_id, float(weight), negatable, regex))
        return _Compiled(_finder(rule.regex.pattern for rule in rules), tuple(rules))

    @staticmethod
    def _compile_guards(
        raw: object, macros: Mapping[str, str], seen: set[str]
    ) -> tuple[re.Pattern[str], re.Pattern[str]]:
        if not isinstance(raw, list):
            raise PatternFileError("[[guard]] must be an array of tables")
        by_level: dict[str, list[str]] = {"crisis": [], "distress": []}
        for entry in raw:
            entry_id = Detector._checked_id(entry, "guard", seen)
            patterns = _as_str_list(entry.get("patterns"), f"guard {entry_id} patterns")
            suppresses = _as_str_list(entry.get("suppresses"), f"guard {entry_id} suppresses")
            source = _compile_entry(entry_id, patterns, macros, "guard").pattern
            for level in suppresses:
                if level not in by_level:
                    raise PatternFileError(f"{entry_id}: cannot suppress {level!r}")
                by_level[level].append(source)
        return _finder(by_level["crisis"]), _finder(by_level["distress"])

    @staticmethod
    def _checked_id(entry: object, section: str, seen: set[str]) -> str:
        if not isinstance(entry, Mapping):
            raise PatternFileError(f"[[{section}]] entries must be tables")
        entry_id = entry.get("id")
        if not isinstance(entry_id, str) or not _ID_RE.match(entry_id):
            raise PatternFileError(f"[[{section}]] has a missing or malformed id: {entry_id!r}")
        if entry_id.split(".")[0] != section:
            raise PatternFileError(f"{entry_id}: ids in [[{section}]] start with '{section}.'")
        if entry_id in seen:
            raise PatternFileError(f"{entry_id}: duplicate id")
        why = entry.get("why")
        if not isinstance(why, str) or not why.strip():
            raise PatternFileError(f"{entry_id}: every entry says why it exists")
        seen.add(entry_id)
        return entry_id

    def _hits(
        self, variants: Iterable[str], compiled: _Compiled, guards: re.Pattern[str]
    ) -> list[_Rule]:
        """Rules that matched in any reading, unguarded and unnegated, first-seen order.

        The combined regex only finds where some rule starts; every rule not yet
        found is then tried at that position, because an alternation stops at the
        first rule that fits and a weak rule must not hide a strong one that
        starts at the same word.
        """
        found: dict[str, _Rule] = {}
        for variant in variants:
            text = _START + variant
            spans: list[tuple[int, int]] | None = None
            pos = 0
            while (candidate := compiled.finder.search(text, pos)) is not None:
                start = candidate.start() + 1
                pos = start
                for rule in compiled.rules:
                    if rule.id in found:
                        continue
                    match = rule.regex.match(text, start)
                    if match is None:
                        continue
                    if spans is None:
                        # Guards are only worth scanning for once something matched.
                        spans = _spans(guards, text)
                    if _overlaps(start, match.end(), spans):
                        continue
                    if rule.negatable and self._negated(text, start):
                        continue
                    found[rule.id] = rule
        return list(found.values())

    def _negated(self, text: str, start: int) -> bool:
        """Whether a negation cue sits in the last few tokens of the same clause."""
        prefix = text[max(0, start - 120) : start]
        clause = self._clause_break.split(prefix)[-1]
        window = " ".join(clause.split()[-self._window :])
        return bool(window) and self._negation.search(window) is not None


def _finder(sources: Iterable[str]) -> re.Pattern[str]:
    """A regex for a space followed by any of the sources (see _Compiled)."""
    joined = "|".join(sources)
    return re.compile(f" (?:{joined})" if joined else _NEVER)


def _spans(finder: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Every token span a guard finder matches, overlapping ones included."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (match := finder.search(text, pos)) is not None:
        start, end = match.start() + 1, match.end()
        if end > start:
            spans.append((start, end))
        pos = start
    return spans


def _overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start < span_end and span_start < end for span_start, span_end in spans)


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """The detector for the bundled pattern file, compiled once per process."""
    return Detector.from_file(DEFAULT_PATTERNS_FILE)


def classify(text: str) -> Assessment:
    """Classifies a note with the bundled patterns.

    Args:
        text: The free-text note. Never logged or stored.

    Returns:
        The level (crisis wins over distress) and the matched pattern ids.
    """
    return default_detector().classify(text)
