"""The anonymity rules on hand-made examples: what is shown, what is held back, and why."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.periods import Period, PeriodKind, final_periods, last_final_day, month_of, week_of
from bot.reporting import EVERYONE, Group, Row, Viewer, tabulate
from storage.models import Person

MONDAY = date(2026, 11, 2)  # the first week of the November 2026 "month of weeks"
WEEK = week_of(MONDAY)
A, B, C = Group.of_team("a"), Group.of_team("b"), Group.of_team("c")


def answers(
    team: str, count: int, monday: date = MONDAY, score: int = 3, tag: str = ""
) -> list[Row]:
    """``count`` different people of a team, one answer each, on the Tuesday of a week."""
    return [(f"{team}{tag}-{i}", team, monday + timedelta(days=1), score) for i in range(count)]


def shown(rows: list[Row], groups: list[Group], periods: list[Period], threshold: int = 5) -> dict:
    sizes = {"a": 10, "b": 10, "c": 10}
    cells = tabulate(rows, groups=groups, periods=periods, sizes=sizes, threshold=threshold)
    return {(g.label, p.label): not cells[(g, p)].suppressed for g, p in cells}


def test_a_small_team_week_is_marked_suppressed_with_no_numbers_at_all() -> None:
    rows = answers("a", 4, score=1)
    cell = tabulate(rows, groups=[A], periods=[WEEK], sizes={"a": 4}, threshold=5)[(A, WEEK)]
    assert cell.suppressed
    assert (cell.respondents, cell.answers, cell.mean, cell.distribution) == (None,) * 4
    assert cell.participation is None


def test_a_team_week_with_enough_people_shows_mean_distribution_and_participation() -> None:
    rows = answers("a", 3, score=2) + answers("a", 3, score=4, tag="x")
    cell = tabulate(rows, groups=[A], periods=[WEEK], sizes={"a": 8}, threshold=5)[(A, WEEK)]
    assert not cell.suppressed
    assert (cell.respondents, cell.answers, cell.mean) == (6, 6, 3.0)
    assert cell.distribution == (0, 3, 0, 3, 0)
    assert cell.participation == 0.75


def test_the_organisation_total_is_held_back_when_it_would_unmask_a_small_team() -> None:
    # Everyone (8) minus team a (6) would be team b's 2 people.
    rows = answers("a", 6) + answers("b", 2)
    assert shown(rows, [A, B, EVERYONE], [WEEK]) == {
        ("a", WEEK.label): True,
        ("b", WEEK.label): False,
        ("everyone", WEEK.label): False,
    }


def test_small_teams_that_add_up_to_a_group_let_the_total_show() -> None:
    # Everyone minus team a is teams b and c together: 6 people, enough.
    rows = answers("a", 6) + answers("b", 3) + answers("c", 3)
    assert shown(rows, [A, B, C, EVERYONE], [WEEK]) == {
        ("a", WEEK.label): True,
        ("b", WEEK.label): False,
        ("c", WEEK.label): False,
        ("everyone", WEEK.label): True,
    }


def test_a_month_is_held_back_when_it_would_unmask_a_small_week() -> None:
    month = month_of(MONDAY)
    weeks = [week_of(monday) for monday in month.weeks]
    rows = [row for w in weeks[:-1] for row in answers("a", 6, w.start, tag=w.label)]
    rows += answers("a", 2, weeks[-1].start, tag="late")  # two people, different from the rest
    result = shown(rows, [A], [*weeks, month])
    assert [result[("a", w.label)] for w in weeks] == [True, True, True, False]
    assert result[("a", month.label)] is False


def test_a_month_shows_when_its_weeks_are_all_shown() -> None:
    month = month_of(MONDAY)
    weeks = [week_of(monday) for monday in month.weeks]
    rows = [row for w in weeks for row in answers("a", 5, w.start)]
    result = shown(rows, [A], [*weeks, month])
    assert all(result.values())


def test_a_month_shows_when_its_small_weeks_together_hold_enough_people() -> None:
    month = month_of(MONDAY)
    weeks = [week_of(monday) for monday in month.weeks]
    rows = answers("a", 6, weeks[0].start) + answers("a", 6, weeks[1].start)
    rows += answers("a", 3, weeks[2].start, tag="x") + answers("a", 3, weeks[3].start, tag="y")
    result = shown(rows, [A], [*weeks, month])
    assert [result[("a", w.label)] for w in weeks] == [True, True, False, False]
    assert result[("a", month.label)] is True  # month minus the shown weeks is 6 people


def test_the_threshold_is_a_setting() -> None:
    rows = answers("a", 3)
    assert shown(rows, [A], [WEEK], threshold=3) == {("a", WEEK.label): True}
    assert shown(rows, [A], [WEEK], threshold=4) == {("a", WEEK.label): False}


def test_a_week_is_final_only_once_it_is_over_in_every_timezone() -> None:
    monday_morning = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Sunday still runs in Hawaii
    assert last_final_day(monday_morning) == date(2026, 11, 21)
    assert final_periods(PeriodKind.WEEK, 1, monday_morning, date(2020, 1, 1)) == [
        week_of(date(2026, 11, 9))
    ]
    monday_lunch = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    assert final_periods(PeriodKind.WEEK, 2, monday_lunch, date(2020, 1, 1)) == [
        week_of(date(2026, 11, 9)),
        week_of(date(2026, 11, 16)),
    ]


def test_the_week_under_way_is_never_a_period() -> None:
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    periods = final_periods(PeriodKind.WEEK, 8, wednesday, date(2020, 1, 1))
    assert len(periods) == 8 and periods[-1].end == date(2026, 11, 22)


def test_months_are_final_when_their_last_week_is() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # November's last week ended 29 Nov
    (period,) = final_periods(PeriodKind.MONTH, 1, now, date(2020, 1, 1))
    assert period == month_of(date(2026, 11, 15)) and period.label == "2026-11"


def test_no_period_reaching_back_past_retention_is_offered() -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    earliest = date(2026, 11, 4)  # a Wednesday: its week is being purged day by day
    periods = final_periods(PeriodKind.WEEK, 8, now, earliest)
    assert [p.start for p in periods] == [date(2026, 11, 9), date(2026, 11, 16)]


def test_a_manager_may_see_only_the_teams_they_manage() -> None:
    boss = Person(platform="fake", platform_user_id="m", display_name="M", team="a")
    boss.roles, boss.manages = "staff;manager", "a;c"
    viewer = Viewer.manager(boss)
    assert viewer.may_see(A) and viewer.may_see(C)
    assert not viewer.may_see(B) and not viewer.may_see(EVERYONE)
    boss.roles = "staff"  # the manages column means nothing without the role
    assert not Viewer.manager(boss).may_see(A)
    assert Viewer.admin().may_see(EVERYONE)
