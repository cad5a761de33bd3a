"""Accuracy and latency of the distress detector on the labelled evaluation set.

Run: ``.venv/bin/python benchmarks/detector.py [--repeat N] [--eval PATH]``

Prints precision, recall and F1 per class, the confusion matrix, the
misclassified notes, and per-note latency against a bare ``str.casefold()``
baseline. The last line is machine-readable: ``result:`` then space-separated
``key=value`` pairs in this order: crisis_recall, none_precision, median_ms,
distress_recall, p99_ms. For example
``result: crisis_recall=1.000 none_precision=0.97 median_ms=0.031 ...``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

try:
    from bot.distress import Detector, Level, default_detector
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bot.distress import Detector, Level, default_detector

DEFAULT_EVAL = Path(__file__).resolve().parents[1] / "tests" / "bot" / "data" / "distress_eval.csv"
LABELS = tuple(level.value for level in Level)


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["label"], row["text"]) for row in csv.DictReader(handle)]


def per_note_ms(func: Callable[[str], object], texts: Sequence[str], repeat: int) -> list[float]:
    """Wall time of each call in milliseconds, every note timed `repeat` times."""
    timings: list[float] = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter_ns()
            func(text)
            timings.append((time.perf_counter_ns() - start) / 1e6)
    return timings


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="labelled CSV")
    parser.add_argument("--repeat", type=int, default=5, help="timing passes over the set")
    args = parser.parse_args(argv)

    rows = load(args.eval)
    texts = [text for _, text in rows]

    start = time.perf_counter()
    detector: Detector = default_detector()
    load_ms = (time.perf_counter() - start) * 1000

    predicted = [detector.classify(text).level.value for text in texts]
    pairs = Counter((gold, got) for (gold, _), got in zip(rows, predicted, strict=True))

    print(f"eval set: {args.eval} ({len(rows)} notes)")
    print(f"patterns compiled in {load_ms:.0f} ms\n")
    print(f"{'class':<10}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
    scores: dict[str, tuple[float, float]] = {}
    for label in LABELS:
        tp = pairs[(label, label)]
        said = sum(n for (_, got), n in pairs.items() if got == label)
        actual = sum(n for (gold, _), n in pairs.items() if gold == label)
        precision = tp / said if said else 1.0
        recall = tp / actual if actual else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = (precision, recall)
        print(f"{label:<10}{precision:>10.3f}{recall:>8.3f}{f1:>8.3f}{actual:>9}")

    print("\nconfusion matrix (rows = gold, columns = predicted)")
    print(f"{'':<10}" + "".join(f"{label:>10}" for label in LABELS))
    for gold in LABELS:
        print(f"{gold:<10}" + "".join(f"{pairs[(gold, got)]:>10}" for got in LABELS))

    mistakes = [
        (gold, got, text) for (gold, text), got in zip(rows, predicted, strict=True) if gold != got
    ]
    print(f"\nmisclassified: {len(mistakes)}")
    for gold, got, text in mistakes:
        print(f"  {gold} -> {got} | {text}")

    # Warm both paths so the first call's caches do not count.
    for text in texts[:50]:
        detector.classify(text)
        text.casefold()
    detector_ms = per_note_ms(detector.classify, texts, args.repeat)
    baseline_ms = per_note_ms(str.casefold, texts, args.repeat)
    median_ms = statistics.median(detector_ms)
    p99_ms = percentile(detector_ms, 0.99)
    base_median = statistics.median(baseline_ms)
    long_note = " ".join(texts[: len(texts) // 2])
    long_ms = statistics.median(per_note_ms(detector.classify, [long_note], 5))

    print(f"\nlatency per note over {len(detector_ms)} calls")
    print(f"{'':<22}{'median ms':>10}{'p99 ms':>10}")
    print(f"{'detector.classify':<22}{median_ms:>10.4f}{p99_ms:>10.4f}")
    print(f"{'baseline casefold()':<22}{base_median:>10.4f}{percentile(baseline_ms, 0.99):>10.4f}")
    print(f"median ratio detector/baseline: {median_ms / base_median:,.0f}x")
    print(f"one {len(long_note):,}-char note: {long_ms:.2f} ms")

    crisis_recall = scores["crisis"][1]
    none_precision = scores["none"][0]
    distress_recall = scores["distress"][1]
    print(
        f"result: crisis_recall={crisis_recall:.3f} none_precision={none_precision:.2f} "
        f"median_ms={median_ms:.3f} distress_recall={distress_recall:.3f} p99_ms={p99_ms:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
