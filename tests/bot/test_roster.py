"""Roster import: every column checked, the first problem named by line and column."""

from __future__ import annotations

import pytest

from bot.roster import RosterDefaults, RosterError, parse_roster

HEADER = "platform,platform_user_id,display_name,team,timezone,locale,region,roles,manages\n"
DEFAULTS = RosterDefaults(locales=frozenset({"en", "cy"}))


def test_a_good_roster_parses_with_defaults() -> None:
    people = parse_roster(
        HEADER
        + "slack,U01,Ana Example,ward-7,Europe/London,en,UK-WLS,staff;volunteer,\n"
        + "telegram,12345,Ben Example,housing,,cy,,staff;manager,housing;ward-7\n",
        DEFAULTS,
    )
    ana, ben = people
    assert (ana.roles, ana.region, ana.timezone) == ("staff;volunteer", "UK-WLS", "Europe/London")
    assert (ben.locale, ben.region, ben.timezone, ben.manages) == (
        "cy",
        "UK",
        None,
        "housing;ward-7",
    )


def test_slack_people_may_be_listed_by_email() -> None:
    (cara,) = parse_roster(
        "platform,email,display_name,team\nslack,Cara@Example.org,Cara,ward\n", DEFAULTS
    )
    assert cara.email == "Cara@Example.org" and cara.platform_user_id == "email:cara@example.org"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("fax,1,Ana,ward,,,,,", "line 3, column 'platform': 'fax' is not one of"),
        ("slack,,Ana,ward,,,,,", "line 3, column 'platform_user_id': is empty (on Slack an email"),
        ("slack,U9,,ward,,,,,", "line 3, column 'display_name': is empty"),
        ("slack,U9,Ana,,,,,,", "line 3, column 'team': is empty"),
        (
            "slack,U9,Ana,ward,Europe/Lodnon,,,,",
            "line 3, column 'timezone': unknown timezone 'Europe/Lodnon'",
        ),
        ("slack,U9,Ana,ward,,fr,,,", "line 3, column 'locale': 'fr' has no messages"),
        ("slack,U9,Ana,ward,,,Atlantis,,", "line 3, column 'region': unknown region 'Atlantis'"),
        ("slack,U9,Ana,ward,,,,boss,", "line 3, column 'roles': unknown role 'boss'"),
        (
            "slack,U9,Ana,ward,,,,staff,ward",
            "line 3, column 'manages': only people with the manager role",
        ),
        (
            "slack,U01,Ana again,ward,,,,,",
            "line 3, column 'platform_user_id': the same person is already on line 2",
        ),
        ("slack,U9,Ana,ward,,,,,,extra", "line 3: more values than columns"),
    ],
)
def test_the_first_bad_row_is_named_and_nothing_is_returned(row: str, message: str) -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster(HEADER + "slack,U01,Ok Person,ward,,,,,\n" + row + "\n", DEFAULTS)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "platform,platform_user_id,team\nslack,U1,ward\n",
            "line 1: missing column 'display_name'",
        ),
        (
            "platform,display_name,team\nslack,Ana,ward\n",
            "line 1: missing column 'platform_user_id'",
        ),
        (HEADER.strip() + ",shoe_size\n", "line 1: unknown column 'shoe_size'"),
        (HEADER, "the roster has no people in it"),
        ("", "line 1: missing column 'platform'"),
    ],
)
def test_header_problems_are_named(text: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        parse_roster(text, DEFAULTS)


def test_a_byte_order_mark_and_blank_lines_are_tolerated() -> None:
    people = parse_roster("\ufeff" + HEADER + "slack,U1,Ana,ward,,,,,\n,,,,,,,,\n", DEFAULTS)
    assert len(people) == 1
