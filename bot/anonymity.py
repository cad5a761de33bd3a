"""Anonymity rules: the minimum group, and no differencing. Pure functions, no I/O.

Terms. A *unit* is the finest block answers are counted in (for reports, one team in
one ISO week). A *cell* is one figure a report can show: the answers of a set of
units (a team-week, the whole organisation in a month). Every number kiln shows for a
cell (how many answers, how many of each score, their sum) is a sum over its units,
so anything a viewer can work out by adding and subtracting cells they can see is the
same numbers for some set of units whose indicator is a combination of the visible
cells' indicators.

The rule. Group the units into *regions* by which visible cells hold them (the
regions of a Venn diagram of the visible cells). A combination of visible cells is
constant on every region, so whatever set of units a viewer isolates is a union of
regions. If every region holds answers from at least ``threshold`` distinct people,
every union does too: no group below the threshold can be worked out, by any sum or
difference of anything shown. :func:`visible_cells` suppresses cells until that holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from datetime import date
from typing import TypeVar

from bot.periods import Period, PeriodKind, week_of

K = TypeVar("K", bound=Hashable)
U = TypeVar("U", bound=Hashable)

#: A report unit: (team, Monday of the week).
Unit = tuple[str, date]
#: A report cell: (team, period), where team None means the whole organisation.
CellKey = tuple[str | None, Period]


class AnonymityError(RuntimeError):
    """Cells that were meant to stay shown expose a small group on their own."""


def people(units: Iterable[U], contributors: Mapping[U, frozenset[str]]) -> int:
    """How many distinct people answered in any of ``units``."""
    seen: set[str] = set()
    for unit in units:
        seen.update(contributors.get(unit, ()))
    return len(seen)


def regions(shapes: Sequence[frozenset[U]], alive: Iterable[int]) -> dict[frozenset[int], set[U]]:
    """The units of the alive shapes, grouped by which alive shapes hold them."""
    holders: dict[U, set[int]] = defaultdict(set)
    for index in alive:
        for unit in shapes[index]:
            holders[unit].add(index)
    grouped: dict[frozenset[int], set[U]] = defaultdict(set)
    for unit, indices in holders.items():
        grouped[frozenset(indices)].add(unit)
    return grouped


def visible_cells(
    cells: Mapping[K, Iterable[U]],
    contributors: Mapping[U, frozenset[str]],
    threshold: int,
    *,
    fixed: Collection[K] = (),
) -> frozenset[K]:
    """The cells that may be shown together without exposing a group below ``threshold``.

    First every cell with fewer than ``threshold`` people is suppressed; then, while
    some region of the remaining cells has fewer than ``threshold`` people, one more
    cell is suppressed: of those whose removal merges that region into a neighbour
    (or hides it), the one with the fewest people. ``fixed`` cells were shown
    already and are never taken back (a week shown last Monday cannot be unshown
    when its month ends); they must be safe on their own.

    Args:
        cells: Each cell's units, in a stable order (ties are broken by it).
        contributors: Each unit's distinct (pseudonymous) people.
        threshold: The minimum group size.
        fixed: Cells that must stay shown.

    Raises:
        AnonymityError: if the fixed cells alone expose a small group.
    """
    if threshold < 1:
        raise ValueError("the threshold must be at least 1")
    shapes: list[frozenset[U]] = []
    index_of: dict[frozenset[U], int] = {}
    keys_of: list[list[K]] = []
    pinned: set[int] = set()
    keep = set(fixed)
    for key, units in cells.items():
        # Cells over the same units show the same numbers: they stand or fall together.
        shape = frozenset(units)
        if shape not in index_of:
            index_of[shape] = len(shapes)
            shapes.append(shape)
            keys_of.append([])
        keys_of[index_of[shape]].append(key)
        if key in keep:
            pinned.add(index_of[shape])
    size = [people(shape, contributors) for shape in shapes]
    alive = {
        index
        for index, shape in enumerate(shapes)
        if index in pinned or (shape and size[index] >= threshold)
    }
    while True:
        found = regions(shapes, alive)
        small = [
            (people(units, contributors), len(units), sorted(signature), signature)
            for signature, units in found.items()
            if people(units, contributors) < threshold
        ]
        if not small:
            return frozenset(key for index in alive for key in keys_of[index])
        signature = min(small)[3]
        alive.discard(_victim(signature, found, alive - pinned, shapes, size))


def _victim(
    signature: frozenset[int],
    found: Mapping[frozenset[int], set[U]],
    removable: set[int],
    shapes: Sequence[frozenset[U]],
    size: Sequence[int],
) -> int:
    """The cell to suppress so that the small region ``signature`` stops standing alone."""

    def merges(index: int) -> bool:
        if index in signature:
            rest = signature - {index}
            return not rest or rest in found
        return signature | {index} in found

    area: set[U] = set().union(*(shapes[index] for index in signature))
    pool = (
        [index for index in removable if merges(index)]
        or [index for index in removable if index in signature]
        or [index for index in removable if shapes[index] & area]
    )
    if not pool:
        raise AnonymityError("the cells already shown expose a small group on their own")
    return min(pool, key=lambda index: (size[index], len(shapes[index]), index))


def publishable(
    contributors: Mapping[Unit, frozenset[str]], periods: Iterable[Period], threshold: int
) -> frozenset[CellKey]:
    """Which team and organisation cells kiln may show for these periods.

    Every team and the organisation total, for every week and every month asked
    for, are decided together, for everyone: a manager sees a subset of what is
    safe for the whole organisation, so two managers comparing notes learn nothing
    more either. Decisions go in publication order, each step keeping what the
    earlier ones showed: team-weeks, then the organisation's week (a total must not
    unmask the small teams it contains), then team-months, then the organisation's
    month. Each depends only on the answers in its own weeks, so it never changes
    with the window asked for or the day it is asked.

    Args:
        contributors: The people of each (team, Monday) unit that has answers.
        periods: Weeks and months (months of whole ISO weeks).
        threshold: The minimum group size.
    """
    weeks: set[date] = set()
    months: set[Period] = set()
    for period in periods:
        weeks.update(period.weeks)
        if period.kind is PeriodKind.MONTH:
            months.add(period)
    ledger = _Ledger(contributors, threshold)
    for monday in sorted(weeks):
        week_units = sorted(unit for unit in contributors if unit[1] == monday)
        ledger.decide(_team_cells(week_units, week_of(monday)))
        ledger.decide({(None, week_of(monday)): frozenset(week_units)})
    for period in sorted(months):
        inside = set(period.weeks)
        month_units = sorted(unit for unit in contributors if unit[1] in inside)
        ledger.decide(_team_cells(month_units, period))
        ledger.decide({(None, period): frozenset(month_units)})
    return frozenset(ledger.shown)


def _team_cells(units: Sequence[Unit], period: Period) -> dict[CellKey, frozenset[Unit]]:
    by_team: dict[str, set[Unit]] = defaultdict(set)
    for unit in units:
        by_team[unit[0]].add(unit)
    return {(team, period): frozenset(by_team[team]) for team in sorted(by_team)}


class _Ledger:
    """The cells shown so far, indexed by unit so each decision sees only what it touches."""

    def __init__(self, contributors: Mapping[Unit, frozenset[str]], threshold: int) -> None:
        self._contributors = contributors
        self._threshold = threshold
        self.shown: dict[CellKey, frozenset[Unit]] = {}
        self._by_unit: dict[Unit, list[CellKey]] = defaultdict(list)

    def decide(self, new: Mapping[CellKey, frozenset[Unit]]) -> None:
        """Show those of ``new`` that are safe alongside everything shown so far."""
        related = self._connected(set().union(*new.values()) if new else set())
        kept = visible_cells({**related, **new}, self._contributors, self._threshold, fixed=related)
        for key, units in new.items():
            if key in kept:
                self.shown[key] = units
                for unit in units:
                    self._by_unit[unit].append(key)

    def _connected(self, area: set[Unit]) -> dict[CellKey, frozenset[Unit]]:
        """Shown cells linked to ``area`` through shared units (others cannot matter)."""
        related: dict[CellKey, frozenset[Unit]] = {}
        pending = list(area)
        seen = set(area)
        while pending:
            for key in self._by_unit.get(pending.pop(), ()):
                if key in related:
                    continue
                related[key] = self.shown[key]
                fresh = related[key] - seen
                seen |= fresh
                pending.extend(fresh)
        return related
