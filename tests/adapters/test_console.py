"""The console adapter: numbered choices, typed commands, scripted input to end of file."""

from __future__ import annotations

import io

from adapters.console import ConsoleAdapter
from bot.events import ChoiceSelected, CommandReceived, InboundEvent, MessageReceived
from bot.messages import Button, Message


async def run_script(script: str, before: Message | None = None) -> tuple[list[InboundEvent], str]:
    out = io.StringIO()
    console = ConsoleAdapter("sam", stdin=io.StringIO(script), stdout=out)
    events: list[InboundEvent] = []
    if before is not None:
        await console.send_checkin("sam", before)

    async def sink(event: InboundEvent) -> None:
        events.append(event)

    await console.start(sink)
    await console.finished.wait()
    await console.stop()
    return events, out.getvalue()


async def test_numbers_pick_buttons_and_other_lines_are_text_or_commands() -> None:
    checkin = Message(
        "How are you?", ((Button("1 Struggling", "mood:1:1"), Button("2 Low", "mood:1:2")),)
    )
    events, output = await run_script("2\n/pause 3\n\nbit tired today\n9\n", checkin)

    assert "  1) 1 Struggling\n  2) 2 Low" in output
    choice, cmd, note, nine = events
    assert isinstance(choice, ChoiceSelected) and choice.value == "mood:1:2"
    assert isinstance(cmd, CommandReceived) and (cmd.name, cmd.args) == ("pause", ("3",))
    assert isinstance(note, MessageReceived) and note.text == "bit tired today"
    assert isinstance(nine, MessageReceived) and nine.text == "9"
    assert len({e.event_id for e in events}) == 4


async def test_an_updated_checkin_no_longer_takes_numbers() -> None:
    out = io.StringIO()
    console = ConsoleAdapter("sam", stdin=io.StringIO("1\n"), stdout=out)
    await console.send_checkin("sam", Message("Hi", ((Button("1 Struggling", "v"),),)))
    await console.update_checkin("sam", "console-1", Message("Today's check-in: 1 Struggling"))
    events: list[InboundEvent] = []

    async def sink(event: InboundEvent) -> None:
        events.append(event)

    await console.start(sink)
    await console.finished.wait()
    assert isinstance(events[0], MessageReceived)
    assert "[Today's check-in: 1 Struggling]" in out.getvalue()


async def test_end_of_input_finishes_cleanly() -> None:
    events, output = await run_script("")
    assert events == [] and output == ""
