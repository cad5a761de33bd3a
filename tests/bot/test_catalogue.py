"""The prompt catalogue: data files per locale, English fallback, Welsh complete."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot.catalogue import Catalogue, CatalogueError

CATALOGUE = Catalogue.load()


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_welsh_are_shipped() -> None:
    assert {"en", "cy"} <= set(CATALOGUE.locales)


@pytest.mark.parametrize("key", sorted(CATALOGUE.keys("cy")))
def test_welsh_keys_exist_in_english_with_the_same_placeholders(key: str) -> None:
    assert key in CATALOGUE.keys("en")
    welsh, english = CATALOGUE.variants("cy", key), CATALOGUE.variants("en", key)
    assert {frozenset(placeholders(t)) for t in welsh} == {
        frozenset(placeholders(t)) for t in english
    }


def test_welsh_covers_every_english_key() -> None:
    assert CATALOGUE.keys("en") - CATALOGUE.keys("cy") == frozenset()


def test_welsh_is_really_welsh() -> None:
    assert CATALOGUE.text("cy", "buttons.mood_3") != CATALOGUE.text("en", "buttons.mood_3")
    assert re.match(r"^3 ", CATALOGUE.text("cy", "buttons.mood_3"))


def test_a_missing_key_falls_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text('[a]\nb = "hello {name}"\nc = "only english"\n')
    (tmp_path / "cy.toml").write_text('[a]\nb = "helo {name}"\n')
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.text("cy", "a.b", name="Nia") == "helo Nia"
    assert catalogue.text("cy", "a.c") == "only english"
    assert catalogue.text("cy-GB", "a.b", name="Nia") == "helo Nia"
    with pytest.raises(CatalogueError, match="no message for key"):
        catalogue.text("cy", "a.missing")


def test_greetings_are_varied() -> None:
    for locale in ("en", "cy"):
        variants = CATALOGUE.variants(locale, "greeting.variants")
        assert len(variants) >= 5 and len(set(variants)) == len(variants)
