"""Charts for web pages: matplotlib's SVG made safe to inline, with text alternatives.

Inline SVG must work under a Content-Security-Policy without 'unsafe-inline', so
matplotlib's ``style="..."`` attributes become SVG presentation attributes (which a
CSP does not block), its ``<style>`` element goes, and every id is prefixed so that
several charts on one page never share a clip path. Each chart carries a title and a
description for screen readers, and the page shows the same figures as a table.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from markupsafe import Markup

from bot import charts
from bot.charts import MOOD_LABELS, ChartKind
from bot.reporting import TeamTrend, WeekCell

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif"
TITLES = {
    ChartKind.MEAN: "Average mood, week by week",
    ChartKind.DISTRIBUTION: "How people felt, week by week",
    ChartKind.PARTICIPATION: "Share of the team who answered",
}

ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


@dataclass(frozen=True)
class Chart:
    """One chart ready for a template: heading, inline SVG and its text alternative."""

    kind: ChartKind
    element_id: str
    title: str
    description: str
    svg: Markup


def week_label(day: date) -> str:
    """ "7 Sep": how weeks are named on axes and in tables."""
    return f"{day.day} {day:%b}"


def _prefix_refs(value: str, prefix: str) -> str:
    return value.replace("url(#", f"url(#{prefix}")


def make_inline(svg_text: str, element_id: str, title: str, description: str) -> Markup:
    """matplotlib SVG → CSP-safe, accessible inline SVG markup."""
    root = ET.fromstring(svg_text)  # noqa: S314 - our own matplotlib output, not user input
    prefix = f"{element_id}-"
    for parent in root.iter():
        for child in list(parent):
            if child.tag in (f"{{{SVG_NS}}}metadata", f"{{{SVG_NS}}}style"):
                parent.remove(child)
    for element in root.iter():
        style = element.attrib.pop("style", "")
        for declaration in style.split(";"):
            name, _, value = declaration.partition(":")
            if name.strip() and value.strip():
                element.set(name.strip(), value.strip())
        if "font-family" in element.attrib:
            element.set("font-family", FONT)
        if "id" in element.attrib:
            element.set("id", prefix + element.attrib["id"])
        for attribute in ("clip-path", "fill", "mask"):
            if attribute in element.attrib:
                element.set(attribute, _prefix_refs(element.attrib[attribute], prefix))
        href = f"{{{XLINK_NS}}}href"
        if element.attrib.get(href, "").startswith("#"):
            element.set(href, "#" + prefix + element.attrib[href][1:])
    # What the removed <style> said, as inherited presentation attributes.
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    for attribute in ("width", "height"):
        root.attrib.pop(attribute, None)
    root.set("id", element_id)
    root.set("class", "chart")
    root.set("role", "img")
    root.set("aria-labelledby", f"{prefix}title {prefix}desc")
    root.set("preserveAspectRatio", "xMidYMid meet")
    title_element = ET.Element(f"{{{SVG_NS}}}title", {"id": f"{prefix}title"})
    title_element.text = title
    desc_element = ET.Element(f"{{{SVG_NS}}}desc", {"id": f"{prefix}desc"})
    desc_element.text = description
    root.insert(0, desc_element)
    root.insert(0, title_element)
    # ElementTree escapes text and attributes, so the result is safe to mark as markup.
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704


def _hidden_weeks(trend: TeamTrend) -> str:
    hidden = sum(1 for week in trend.weeks if week.suppressed)
    if not hidden:
        return ""
    return (
        f" {hidden} of {len(trend.weeks)} weeks are hidden because fewer than "
        f"{trend.min_group_size} people answered."
    )


def _shown(trend: TeamTrend) -> list[WeekCell]:
    return [week for week in trend.weeks if not week.suppressed]


def describe(kind: ChartKind, trend: TeamTrend) -> str:
    """A plain-words summary of a chart, for people who cannot see it."""
    shown = _shown(trend)
    span = f"the {len(trend.weeks)} weeks from {week_label(trend.weeks[0].week_start)}"
    if not shown:
        return f"No week in {span} can be shown: fewer than {trend.min_group_size} people answered."
    first, last = shown[0], shown[-1]
    if kind is ChartKind.MEAN:
        means = [week.mean for week in shown if week.mean is not None]
        text = (
            f"Average mood on a scale of 1 (struggling) to 5 (great) over {span}: "
            f"{first.mean:.1f} in the week of {week_label(first.week_start)}, "
            f"{last.mean:.1f} in the week of {week_label(last.week_start)}; "
            f"lowest {min(means):.1f}, highest {max(means):.1f}."
        )
    elif kind is ChartKind.DISTRIBUTION:
        parts = []
        if last.distribution and last.answers:
            parts = [
                f"{label} {100 * count / last.answers:.0f}%"
                for label, count in zip(MOOD_LABELS, last.distribution, strict=True)
            ]
        text = (
            f"Share of answers at each mood, per week, over {span}. "
            f"In the week of {week_label(last.week_start)}: {', '.join(parts)}."
        )
    else:
        rates = [week.participation for week in shown if week.participation is not None]
        text = (
            f"Share of the team who answered at least once each week over {span}: "
            f"from {min(rates):.0%} to {max(rates):.0%}; "
            f"{rates[-1]:.0%} in the week of {week_label(last.week_start)}."
            if rates
            else f"Participation over {span} is not known (team size unknown)."
        )
    return text + _hidden_weeks(trend)


@lru_cache(maxsize=256)
def team_charts(trend: TeamTrend, element_prefix: str) -> tuple[Chart, ...]:
    """The three charts of a team, as inline SVG with text alternatives.

    Figures of finished weeks never change, so the same trend is drawn only once.
    """
    result = []
    for kind in ChartKind:
        element_id = f"{element_prefix}-{kind.value}"
        description = describe(kind, trend)
        markup = make_inline(charts.svg(kind, trend), element_id, TITLES[kind], description)
        result.append(Chart(kind, element_id, TITLES[kind], description, markup))
    return tuple(result)
