"""Hypothesis strategies for hostile text and malformed payloads."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: Right-to-left text, zero-width and bidi controls, emoji-only, combining marks.
AWKWARD = [
    "مرحبا، أنا متعب جدا اليوم",
    "שלום, אני לא בסדר",
    "\u202eevil\u202c text",
    "I\u200bwant\u200bto\u200bdie",
    "\u200b\u200c\u200d\ufeff",
    "🙂🙂🙂",
    "😭😭😭😭",
    "👩‍👩‍👧‍👦🏳️‍🌈",
    "Z̷̢̛a̴̡l̶̨g̵o̸",
    "\x00\x01\x02",
    "/",
    "/@",
    "/start@other_bot hello",
    "/pause 99999999999999999999",
    "/pause -1",
    "/timezone Europe/London\x00",
    "'; DROP TABLE person; --",
    "{{name}} {0} %s %(x)s",
    "I can't go on",
]

hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(AWKWARD),
    st.text(alphabet=st.characters(categories=["Cf", "Mn", "So", "Zs"]), max_size=40),
    st.integers(min_value=4000, max_value=12_000).map(lambda n: ("long words " * n)[:n]),
)

#: Any JSON value, to put where a field of the right type belongs.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mangled(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with some fields (at any depth) dropped or given a value of another type."""
    result: dict[str, Any] = {}
    for key, value in payload.items():
        fate = draw(st.sampled_from(["keep", "keep", "keep", "drop", "retype"]))
        if fate == "drop":
            continue
        if fate == "retype":
            result[key] = draw(json_values)
        elif isinstance(value, dict):
            result[key] = draw(mangled(value))
        else:
            result[key] = value
    return result
