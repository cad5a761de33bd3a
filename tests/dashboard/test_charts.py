"""Charts for pages: CSP-safe inline SVG, unique ids, hidden weeks never drawn as numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from bot import charts
from bot.charts import ChartKind
from bot.reporting import TeamTrend, WeekCell
from kiln.dashboard.charts import describe, make_inline, team_charts

START = date(2026, 9, 7)


def _trend() -> TeamTrend:
    weeks = []
    for index in range(6):
        monday = START + timedelta(weeks=index)
        if index == 2:
            weeks.append(WeekCell(monday, suppressed=True))
            continue
        weeks.append(WeekCell(monday, False, 7, 20, 3.2 + index / 10, (1, 3, 6, 7, 3), 0.7))
    return TeamTrend("ward", 10, 5, tuple(weeks))


def test_inline_svg_has_no_style_and_prefixed_references() -> None:
    markup = make_inline(charts.svg(ChartKind.MEAN, _trend()), "c1", "Title", "Words")
    root = ET.fromstring(str(markup))  # noqa: S314 - our own chart

    assert "style=" not in markup and "<style" not in markup
    ids = {element.get("id") for element in root.iter() if element.get("id")}
    assert ids and all(str(i).startswith("c1") for i in ids)
    for element in root.iter():
        for value in element.attrib.values():
            if "url(#" in value:
                assert value.split("url(#")[1].rstrip(")") in ids
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"


def test_two_charts_on_one_page_share_no_ids() -> None:
    first, second, third = team_charts(_trend(), "t0-ward")
    ids = [
        {e.get("id") for e in ET.fromstring(str(chart.svg)).iter() if e.get("id")}  # noqa: S314
        for chart in (first, second, third)
    ]
    assert not (ids[0] & ids[1]) and not (ids[1] & ids[2])


def test_descriptions_give_the_figures_and_say_what_is_hidden() -> None:
    text = describe(ChartKind.MEAN, _trend())
    assert "3.2 in the week of 7 Sep" in text
    assert "1 of 6 weeks are hidden because fewer than 5 people answered" in text
    assert "3.4" not in text  # the hidden week's figure never appears (it has none)


def test_a_team_with_every_week_hidden_is_described_plainly() -> None:
    hidden = TeamTrend("tiny", 3, 5, tuple(WeekCell(START, True) for _ in range(3)))
    assert describe(ChartKind.PARTICIPATION, hidden).startswith("No week in the 3 weeks")
