"""Team mood charts, drawn with matplotlib: SVG for the dashboard, PNG for chat.

Only already-suppressed figures from ``bot.reporting`` are drawn; a hidden week is
drawn as a hatched gap, never as a number. Colours are from the Okabe-Ito palette,
which stays distinguishable with the common kinds of colour-blindness, and every mood
band also differs in lightness. matplotlib is imported on first use, not at start-up,
so the chat bot starts quickly and pays for charts only when someone asks for one.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.reporting import TeamTrend

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

#: matplotlib's rc settings are process-wide; charts drawn in worker threads take turns.
_RC_LOCK = threading.Lock()

#: 1 Struggling .. 5 Great: warm to cool, dark-light-light-light-dark (Okabe-Ito, grey for Okay).
MOOD_COLOURS = ("#D55E00", "#E69F00", "#D9D9D9", "#56B4E9", "#0072B2")
MOOD_LABELS = ("1 Struggling", "2 Low", "3 Okay", "4 Good", "5 Great")
INK = "#1F2933"
MUTED = "#5F6B7A"
GRID = "#E4E7EB"
LINE = "#0072B2"
PARTICIPATION = "#009E73"
HIDDEN_EDGE = "#9AA5B1"
#: Several fonts so the browser finds one; the SVG keeps text as text (readable, searchable).
FONT_STACK = ["DejaVu Sans", "sans-serif"]


class ChartKind(StrEnum):
    """The charts a team has."""

    MEAN = "mean"
    DISTRIBUTION = "distribution"
    PARTICIPATION = "participation"


def week_labels(trend: TeamTrend) -> list[str]:
    """ "7 Sep" for each week (a period's first day, for other periods)."""
    return [f"{week.week_start.day} {week.week_start:%b}" for week in trend.weeks]


def _style(ax: Axes, trend: TeamTrend, labels: Sequence[str] | None) -> None:
    ax.set_facecolor("white")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(HIDDEN_EDGE)
    ax.tick_params(colors=MUTED, labelsize=10, length=0, pad=4)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    labels = list(labels) if labels is not None else week_labels(trend)
    ax.set_xticks(range(len(labels)))
    # Every other week on long ranges keeps labels apart on a phone.
    step = 2 if len(labels) > 8 else 1
    ax.set_xticklabels([label if i % step == 0 else "" for i, label in enumerate(labels)])
    ax.set_xlim(-0.6, len(labels) - 0.4)


def _hidden(ax: Axes, trend: TeamTrend, top: float, bottom: float = 0.0) -> None:
    for index, week in enumerate(trend.weeks):
        if week.suppressed:
            ax.bar(
                index,
                top - bottom,
                bottom=bottom,
                width=0.72,
                color="white",
                edgecolor=HIDDEN_EDGE,
                hatch="///",
                linewidth=0.6,
            )


def draw_mean(ax: Axes, trend: TeamTrend, labels: Sequence[str] | None = None) -> None:
    """The weekly average on the 1-5 scale; hidden weeks break the line."""
    _style(ax, trend, labels)
    _hidden(ax, trend, 5.0, 1.0)
    xs = list(range(len(trend.weeks)))
    ys = [
        week.mean if not week.suppressed and week.mean is not None else float("nan")
        for week in trend.weeks
    ]
    ax.plot(xs, ys, color=LINE, linewidth=2.2, marker="o", markersize=5, zorder=3)
    for x, y in zip(xs, ys, strict=True):
        if y == y:  # not NaN
            ax.annotate(
                f"{y:.1f}",
                (x, y),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=9,
                color=INK,
            )
    ax.set_ylim(1, 5.45)
    ax.set_yticks([1, 2, 3, 4, 5])
    ax.set_yticklabels(["1", "2", "3", "4", "5"])


def draw_distribution(ax: Axes, trend: TeamTrend, labels: Sequence[str] | None = None) -> None:
    """How answers spread over 1-5 each week, as shares of that week's answers."""
    _style(ax, trend, labels)
    _hidden(ax, trend, 100.0)
    for index, week in enumerate(trend.weeks):
        if week.suppressed or not week.distribution or not week.answers:
            continue
        bottom = 0.0
        for band, count in enumerate(week.distribution):
            share = 100.0 * count / week.answers
            ax.bar(
                index,
                share,
                bottom=bottom,
                width=0.72,
                color=MOOD_COLOURS[band],
                edgecolor="white",
                linewidth=0.8,
            )
            bottom += share
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 50, 100])
    ax.set_yticklabels(["0%", "50%", "100%"])


def draw_participation(ax: Axes, trend: TeamTrend, labels: Sequence[str] | None = None) -> None:
    """The share of the team who answered at least once that week."""
    _style(ax, trend, labels)
    _hidden(ax, trend, 100.0)
    for index, week in enumerate(trend.weeks):
        if week.suppressed or week.participation is None:
            continue
        value = 100.0 * week.participation
        ax.bar(index, value, width=0.72, color=PARTICIPATION)
        ax.annotate(
            f"{value:.0f}",
            (index, value),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=9,
            color=INK,
        )
    ax.set_ylim(0, 112)
    ax.set_yticks([0, 50, 100])
    ax.set_yticklabels(["0%", "50%", "100%"])


DRAW = {
    ChartKind.MEAN: draw_mean,
    ChartKind.DISTRIBUTION: draw_distribution,
    ChartKind.PARTICIPATION: draw_participation,
}


def _figure(width: float, height: float) -> Figure:
    # The Figure class directly, not pyplot: no global state, safe in a worker thread.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), facecolor="white")
    return figure


def svg(kind: ChartKind, trend: TeamTrend, labels: Sequence[str] | None = None) -> str:
    """One chart as SVG text, with its words kept as text."""
    import matplotlib

    figure = _figure(4.8, 2.6)
    ax = figure.add_axes((0.1, 0.13, 0.88, 0.8))
    DRAW[kind](ax, trend, labels)
    buffer = io.StringIO()
    with (
        _RC_LOCK,
        matplotlib.rc_context(
            {"svg.fonttype": "none", "font.family": FONT_STACK, "svg.hashsalt": "kiln"}
        ),
    ):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def png(trends: Sequence[TeamTrend], title: str = "") -> bytes:
    """All three charts of each team in one image, for a chat message."""
    import matplotlib

    rows = max(1, len(trends))
    figure = _figure(6.4, 5.6 * rows)
    grid = figure.add_gridspec(3 * rows, 1, height_ratios=[2.2, 2.6, 1.6] * rows, hspace=0.7)
    with _RC_LOCK, matplotlib.rc_context({"font.family": FONT_STACK}):
        for row, trend in enumerate(trends):
            names = ("Average mood (1-5)", "How people felt", "Share of the team who answered")
            for offset, kind in enumerate(ChartKind):
                ax = figure.add_subplot(grid[3 * row + offset])
                DRAW[kind](ax, trend)
                heading = names[offset] if offset else f"{trend.team}: {names[0]}"
                ax.set_title(heading, loc="left", fontsize=11, color=INK, pad=8)
        if title:
            figure.suptitle(title, x=0.02, ha="left", fontsize=12, color=INK)
        handles = [
            matplotlib.patches.Patch(facecolor=colour, label=label)
            for colour, label in zip(MOOD_COLOURS, MOOD_LABELS, strict=True)
        ]
        figure.legend(
            handles=handles,
            loc="lower center",
            ncols=5,
            frameon=False,
            fontsize=9,
            bbox_to_anchor=(0.5, 0.0),
        )
        buffer = io.BytesIO()
        figure.savefig(
            buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None}
        )
    return buffer.getvalue()
