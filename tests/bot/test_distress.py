"""The distress detector: eval-set quality bars and the behaviours it must keep."""

from __future__ import annotations

import csv
import logging
import random
import statistics
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.distress import (
    DEFAULT_PATTERNS_FILE,
    Assessment,
    Detector,
    Level,
    PatternFileError,
    classify,
    default_detector,
    normalise,
    reading_variants,
)

EVAL_FILE = Path(__file__).parent / "data" / "distress_eval.csv"
LABELS = tuple(level.value for level in Level)


def load_eval() -> list[tuple[str, str]]:
    with EVAL_FILE.open(encoding="utf-8", newline="") as handle:
        return [(row["label"], row["text"]) for row in csv.DictReader(handle)]


EVAL = load_eval()


def report(rows: list[tuple[str, str]]) -> tuple[dict[str, dict[str, float]], str]:
    """Per-class precision/recall and a readable report listing every mistake."""
    predicted = [(label, classify(text).level.value, text) for label, text in rows]
    pairs = Counter((gold, got) for gold, got, _ in predicted)
    scores: dict[str, dict[str, float]] = {}
    lines = [f"{'class':<10}{'precision':>10}{'recall':>8}{'support':>9}"]
    for label in LABELS:
        tp = pairs[(label, label)]
        said = sum(n for (_, got), n in pairs.items() if got == label)
        actual = sum(n for (gold, _), n in pairs.items() if gold == label)
        precision = tp / said if said else 1.0
        recall = tp / actual if actual else 1.0
        scores[label] = {"precision": precision, "recall": recall}
        lines.append(f"{label:<10}{precision:>10.3f}{recall:>8.3f}{actual:>9}")
    lines.append("misclassified (gold -> predicted | text):")
    lines.extend(f"  {gold} -> {got} | {text}" for gold, got, text in predicted if gold != got)
    return scores, "\n".join(lines)


# --- the labelled evaluation set -------------------------------------------------


def test_eval_set_is_big_varied_and_well_formed() -> None:
    counts = Counter(label for label, _ in EVAL)
    assert set(counts) <= set(LABELS)
    assert len(EVAL) >= 450
    assert counts["crisis"] >= 90
    assert counts["distress"] >= 130
    assert counts["none"] >= 200
    texts = [text for _, text in EVAL]
    assert len(set(texts)) == len(texts), "duplicate notes in the eval set"
    assert all(text.strip() for text in texts)


def test_crisis_recall_is_perfect_and_none_precision_high() -> None:
    scores, text = report(EVAL)
    assert scores["crisis"]["recall"] == 1.0, text
    assert scores["none"]["precision"] > 0.9, text


def test_distress_recall_has_not_regressed() -> None:
    # Not a brief requirement, but a drop here means a pattern change broke
    # something that used to be caught.
    scores, text = report(EVAL)
    assert scores["distress"]["recall"] >= 0.9, text


# --- requirements, one example at a time -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "don't see the point of going on",
        "everyone would be better off without me",
        "I just want to disappear",
        "want to end it all",
        "kms",
        "been thinking about how to unalive myself",
        "thinking of hurting myself",
        "cut myself again",
        "took too many pills last night",
        "I can't keep myself safe",
        "he's going to hurt me",
        "I'm not sure I want to be alive",
        "I don't want to be here anymore",
        "my partner hit me again and I'm scared to go home",
        "I've been stockpiling my tablets",
        "i wish i could go to sleep and not wake up",
        "no one would miss me",
    ],
)
def test_crisis_language(text: str) -> None:
    assert classify(text).level is Level.CRISIS


@pytest.mark.parametrize(
    "text",
    [
        "not coping",
        "completely overwhelmed",
        "had a panic attack before handover",
        "exhausted, burnt out",
        "crying in the car before every shift",
        "everything feels hopeless",
        "can't sleep",
        "constant sense of dread",
        "I'm falling apart",
        "utterly shattered",
    ],
)
def test_distress_language(text: str) -> None:
    assert classify(text).level is Level.DISTRESS


@pytest.mark.parametrize(
    "text",
    [
        "this deadline is killing me lol",
        "dying to see the new office",
        "not stressed at all",
        "I could murder a coffee",
        "the printer wants to die",
        "killed it in the presentation",
        "no panic, all sorted",
        "never felt better",
        "I'm not overwhelmed, just busy",
        "the suspense is killing me",
        "lol 💀",
        "dead tired but good week",
        "shoot me an email",
        "smashed the audit",
        "I'll die on this hill: we need a better kettle",
        "overdosed on mince pies 🥧",
        "cut myself shaving, ouch",
        "did my suicide prevention training today",
        "the patient in bay 4 is really anxious",
        "want to disappear to a beach for a fortnight",
        "bit tired today",
    ],
)
def test_idiom_hyperbole_and_work_talk_are_none(text: str) -> None:
    assert classify(text) == Assessment(Level.NONE, ())


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I'm not suicidal", Level.NONE),
        ("not suicidal, just fed up with the car park", Level.NONE),
        ("no thoughts of self harm", Level.NONE),
        ("I'm not sure I want to be alive", Level.CRISIS),
        ("not sure I'm not suicidal", Level.CRISIS),
        ("can't promise I won't hurt myself", Level.CRISIS),
        ("never felt so suicidal", Level.CRISIS),
        ("not coping", Level.DISTRESS),
        ("I'm not ok", Level.DISTRESS),
        ("not stressed", Level.NONE),
        ("I don't feel anxious any more", Level.NONE),
        ("never been so stressed", Level.DISTRESS),
        ("not just tired, completely burnt out", Level.DISTRESS),
        ("not tired but really overwhelmed", Level.DISTRESS),
        ("no idea why I'm so anxious", Level.DISTRESS),
        ("haven't cried once this week", Level.NONE),
    ],
)
def test_negation_is_scoped(text: str, level: Level) -> None:
    assert classify(text).level is level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("feeling suicidle", Level.CRISIS),
        ("been feeling sucidal", Level.CRISIS),
        ("i want to kil my self", Level.CRISIS),
        ("so overwelmed", Level.DISTRESS),
        ("cant cope", Level.DISTRESS),
        ("exausted", Level.DISTRESS),
        ("exhuasted", Level.DISTRESS),
        ("depresed", Level.DISTRESS),
        ("hopless", Level.DISTRESS),
        ("panicing", Level.DISTRESS),
    ],
)
def test_common_misspellings(text: str, level: Level) -> None:
    assert classify(text).level is level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I WANT TO DIE", Level.CRISIS),
        ("I’m thinking of ending it all", Level.CRISIS),  # curly apostrophe
        ("I‘m not coping", Level.DISTRESS),
        ("can`t cope", Level.DISTRESS),
        ("soooo exhausted", Level.DISTRESS),
        ("so tiiiired and streeeessed", Level.DISTRESS),
        ("i want to diiiie", Level.CRISIS),
        ("self-harm again", Level.CRISIS),
        ("ＩＭ ＮＯＴ ＣＯＰＩＮＧ", Level.DISTRESS),  # fullwidth letters (NFKC)
    ],
)
def test_case_quotes_repeats_and_width(text: str, level: Level) -> None:
    assert classify(text).level is level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("knackered", Level.NONE),
        ("utterly shattered", Level.DISTRESS),
        ("absolutely knackered and can't sleep", Level.DISTRESS),
        ("gutted we lost", Level.NONE),
        ("bummed the canteen ran out of chips", Level.NONE),
        ("burnt out", Level.DISTRESS),
        ("burned out", Level.DISTRESS),
        ("the colour has gone out of everything", Level.DISTRESS),
        ("the color has gone out of everything", Level.DISTRESS),
        ("traumatised after the shift", Level.DISTRESS),
        ("traumatized after the shift", Level.DISTRESS),
    ],
)
def test_british_and_us_spelling(text: str, level: Level) -> None:
    assert classify(text).level is level


@pytest.mark.parametrize(
    ("text", "level"),
    [
        # A crying face alone is often laughter or mock despair: not enough.
        ("😭", Level.NONE),
        ("😭😭😭 best leaving card ever", Level.NONE),
        # With another weak cue it is distress; with a strong one, obviously so.
        ("so tired 😭", Level.DISTRESS),
        ("😭 can't do this", Level.DISTRESS),
        ("I wanna die 😭", Level.CRISIS),
        # The skull is idiom ("I'm dead"), never a cue.
        ("lol 💀", Level.NONE),
        ("💀💀💀 the fire drill during the ward round", Level.NONE),
        ("tired😭stressed", Level.DISTRESS),  # no spaces around the emoji
    ],
)
def test_emoji(text: str, level: Level) -> None:
    assert classify(text).level is level


@pytest.mark.parametrize("joiner", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_characters_do_not_hide_words(joiner: str) -> None:
    assert classify(joiner.join("suicidal")).level is Level.CRISIS
    assert classify(f"i want to {joiner}die").level is Level.CRISIS
    assert classify(f"over{joiner}whelmed").level is Level.DISTRESS


def test_long_notes_are_screened_to_the_end_and_fast() -> None:
    filler = "Busy week on the ward, lots of admin and meetings but the team is good. " * 70
    assert len(filler) > 4000
    assert classify(filler).level is Level.NONE
    start = time.perf_counter()
    assert classify(filler + "Honestly I want to end it all.").level is Level.CRISIS
    assert classify(filler + "I'm not coping.").level is Level.DISTRESS
    elapsed = time.perf_counter() - start
    # Generous for slow CI machines; benchmarks/detector.py reports real figures.
    assert elapsed < 1.0


def test_typical_notes_are_fast() -> None:
    detector = default_detector()
    texts = [text for _, text in EVAL]
    timings = []
    for text in texts:
        start = time.perf_counter()
        detector.classify(text)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.005  # 5 ms; typically ~0.1 ms


# --- the result shape ------------------------------------------------------------


def test_reasons_are_non_empty_known_ids_for_every_flagged_note() -> None:
    known = default_detector().rule_ids
    for _, text in EVAL:
        assessment = classify(text)
        if assessment.level is Level.NONE:
            assert assessment.reasons == ()
            continue
        assert assessment.reasons, text
        assert set(assessment.reasons) <= known
        prefix = assessment.level.value + "."
        assert all(reason.startswith(prefix) for reason in assessment.reasons), text


def test_reason_names_the_pattern() -> None:
    assert classify("I want to end it all").reasons == ("crisis.suicidal_ideation.end_it_all",)


def test_crisis_wins_over_distress() -> None:
    assessment = classify("not coping, exhausted, and I want to die")
    assert assessment.level is Level.CRISIS
    assert all(reason.startswith("crisis.") for reason in assessment.reasons)


def test_the_note_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    secret = "my partner hit me again, want to die, zebra-7731"
    default_detector.cache_clear()
    with caplog.at_level(logging.DEBUG):
        classify(secret)
    assert "zebra" not in caplog.text
    assert "partner" not in caplog.text


# --- normalisation ---------------------------------------------------------------


def test_normalise() -> None:
    assert normalise("I’m NOT   coping!!") == "im not coping ."
    assert normalise("sui\u200bcidal") == "suicidal"
    assert normalise("self-harm") == "self harm"
    assert normalise("tired😭") == "tired 😭"
    assert normalise("soooo tired") == "soo tired"
    assert reading_variants("soooo tiiired") == ("soo tiired", "so tired")
    assert reading_variants("fine thanks") == ("fine thanks",)


# --- properties ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gets_a_well_formed_answer(text: str) -> None:
    assessment = classify(text)
    assert isinstance(assessment.level, Level)
    assert (assessment.level is Level.NONE) == (assessment.reasons == ())


CRISIS_NOTES = [text for label, text in EVAL if label == "crisis"]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(CRISIS_NOTES),
    st.sampled_from(["\u200b", "\u200d", "\u2060", "\ufeff"]),
    st.randoms(use_true_random=False),
)
def test_invisible_characters_never_hide_a_crisis(
    note: str, joiner: str, rng: random.Random
) -> None:
    chars = list(note)
    for _ in range(3):
        chars.insert(rng.randrange(len(chars) + 1), joiner)
    assert classify("".join(chars)).level is Level.CRISIS


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(CRISIS_NOTES))
def test_shouting_never_hides_a_crisis(note: str) -> None:
    assert classify(note.upper()).level is Level.CRISIS


# --- the pattern file ------------------------------------------------------------


def test_bundled_pattern_file_loads_and_every_entry_says_why() -> None:
    detector = Detector.from_file(DEFAULT_PATTERNS_FILE)
    assert any(rule_id.startswith("crisis.") for rule_id in detector.rule_ids)
    assert any(rule_id.startswith("distress.") for rule_id in detector.rule_ids)


def minimal(**overrides: object) -> dict[str, object]:
    config: dict[str, object] = {
        "crisis": [{"id": "crisis.test.die", "patterns": ["want to die"], "why": "test"}],
        "distress": [
            {"id": "distress.test.sad", "patterns": ["sad"], "why": "t", "negatable": True}
        ],
        "guard": [
            {
                "id": "guard.test.printer",
                "patterns": ["printer wants to die"],
                "suppresses": ["crisis"],
                "why": "t",
            }
        ],
    }
    config.update(overrides)
    return config


def test_a_small_detector_from_a_mapping() -> None:
    detector = Detector.from_mapping(minimal())
    assert detector.classify("I want to die").level is Level.CRISIS
    assert detector.classify("the printer wants to die").level is Level.NONE
    assert detector.classify("so sad").level is Level.DISTRESS
    assert detector.classify("not sad").level is Level.NONE


def test_from_file(tmp_path: Path) -> None:
    path = tmp_path / "patterns.toml"
    path.write_text(
        '[[crisis]]\nid = "crisis.x.y"\npatterns = ["end it all"]\nwhy = "because"\n',
        encoding="utf-8",
    )
    assert Detector.from_file(path).classify("end it all").level is Level.CRISIS


@pytest.mark.parametrize(
    "config",
    [
        minimal(crisis=[{"id": "crisis.bad", "patterns": ["(die"], "why": "t"}]),
        minimal(crisis=[{"id": "crisis.bad", "patterns": ["(d)ie"], "why": "t"}]),
        minimal(crisis=[{"id": "distress.wrong_section", "patterns": ["x"], "why": "t"}]),
        minimal(crisis=[{"id": "crisis.no_why", "patterns": ["x"]}]),
        minimal(crisis=[{"id": "crisis.x", "patterns": ["{nope}"], "why": "t"}]),
        minimal(crisis=[{"id": "crisis.x", "patterns": [], "why": "t"}]),
        minimal(crisis=[{"id": "crisis.x", "patterns": ["a"], "why": "t", "weight": 1}]),
        minimal(distress=[{"id": "distress.x", "patterns": ["a"], "why": "t", "weight": 0}]),
        minimal(
            distress=[
                {"id": "distress.x", "patterns": ["a"], "why": "t"},
                {"id": "distress.x", "patterns": ["b"], "why": "t"},
            ]
        ),
        minimal(guard=[{"id": "guard.x", "patterns": ["a"], "why": "t", "suppresses": ["all"]}]),
        minimal(schema=2),
    ],
)
def test_malformed_pattern_data_is_rejected(config: dict[str, object]) -> None:
    with pytest.raises(PatternFileError):
        Detector.from_mapping(config)


def test_bad_toml_is_a_pattern_file_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[crisis]\n", encoding="utf-8")
    with pytest.raises(PatternFileError):
        Detector.from_file(path)
