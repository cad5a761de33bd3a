"""The check-in conversation: greeting and mood buttons, the answer, the optional note."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from bot.choices import Action, Choice
from bot.delivery import NoAdapter
from bot.messages import Button, Message
from bot.mood_signals import WINDOW_DAYS, trend_calls_for_offer
from bot.ports import DeliveryError, DeliveryUncertain, Undeliverable
from bot.services import Services
from bot.support import SupportDesk, SupportReason
from storage.checkins import SendAttempt
from storage.models import Checkin, Person, row_id, utcnow
from storage.moods import MoodAnswer

logger = logging.getLogger(__name__)

LOW_MOOD_MAX = 2
MOOD_KEYS = {score: f"buttons.mood_{score}" for score in range(1, 6)}


def first_name(person: Person) -> str:
    """What to call someone in a greeting."""
    parts = person.display_name.split()
    return parts[0] if parts else person.display_name


class CheckinConversation:
    """Sends check-ins and handles every answer to them."""

    def __init__(self, services: Services, support: SupportDesk) -> None:
        self._services = services
        self._support = support

    def greeting(self, person: Person, day: date) -> str:
        """A greeting that is never the same as the person's previous day's.

        Consecutive days step through the variants, offset per person so a team does
        not all get the same words; no state is needed to avoid a repeat.
        """
        variants = self._services.catalogue.variants(person.locale, "greeting.variants")
        index = (day.toordinal() + (row_id(person))) % len(variants)
        return variants[index].format(name=first_name(person))

    def checkin_message(self, person: Person, checkin: Checkin, intro: str = "") -> Message:
        """Greeting, five mood buttons, then `Talk to someone` and `Skip today`."""
        text = self._services.text
        checkin_id = row_id(checkin)
        moods = tuple(
            Button(text(person, key), Choice(Action.MOOD, checkin_id, score).encode())
            for score, key in MOOD_KEYS.items()
        )
        extras = (
            Button(text(person, "buttons.talk"), Choice(Action.TALK, checkin_id).encode()),
            Button(text(person, "buttons.skip"), Choice(Action.SKIP, checkin_id).encode()),
        )
        body = [intro] if intro else []
        body += [self.greeting(person, checkin.local_date), text(person, "greeting.footer")]
        return Message("\n".join(body), (moods, extras))

    async def send(self, person: Person, checkin: Checkin, intro: str = "") -> bool:
        """Deliver a check-in and record the attempt; True if it was delivered."""
        attempt = await self.deliver(person, checkin, intro)
        await self._services.checkins.record_attempts([attempt])
        return attempt.sent

    async def deliver(self, person: Person, checkin: Checkin, intro: str = "") -> SendAttempt:
        """Send a check-in; the caller records the attempt (the fan-out does so in batches)."""
        checkin_id = row_id(checkin)
        message = self.checkin_message(person, checkin, intro)
        try:
            ref = await self._services.delivery.send_checkin(
                person.platform, person.platform_user_id, message
            )
        except Undeliverable as gone:
            await self._services.mark_undeliverable(person, gone.reason)
            return SendAttempt(checkin_id, sent=False)
        except DeliveryUncertain as unknown:
            # A send whose answer was lost almost always arrived: counted as sent and
            # never sent twice (docs/SECURITY.md, "Exactly once").
            logger.warning("check-in #%s probably delivered (%s)", checkin_id, unknown)
            return SendAttempt(checkin_id, sent=True, sent_at=utcnow())
        except (DeliveryError, NoAdapter, OSError) as failure:
            logger.warning("check-in #%s not delivered yet: %s", checkin_id, failure)
            return SendAttempt(checkin_id, sent=False)
        return SendAttempt(checkin_id, sent=True, message_ref=ref, sent_at=utcnow())

    async def on_choice(self, person: Person, choice: Choice, message_ref: str | None) -> None:
        """A button on a check-in or its follow-up was pressed."""
        if await self._support.on_choice(person, choice):
            return
        if choice.action is Action.TALK:
            await self._support.show_crisis_lines_and_offer(person)
            return
        checkin = await self._own_checkin(person, choice.checkin_id)
        if checkin is None:
            await self._services.reply(
                person, Message(self._services.text(person, "checkin.expired"))
            )
            return
        if choice.action is Action.NO_NOTE:
            if await self._services.checkins.close_note(row_id(checkin)):
                await self._services.reply(
                    person, Message(self._services.text(person, "checkin.no_note"))
                )
            return
        ref = message_ref or checkin.message_ref
        today = self._services.today(person).date()
        if checkin.local_date != today:
            await self._refuse_late(person, checkin, ref)
        elif choice.action is Action.SKIP:
            await self._skip(person, checkin, ref)
        elif choice.score is not None:
            await self._record_mood(person, checkin, choice.score, ref)

    async def _own_checkin(self, person: Person, checkin_id: int | None) -> Checkin | None:
        if checkin_id is None:
            return None
        checkin = await self._services.checkins.get(checkin_id)
        # A button value is only trusted for the person it was sent to.
        if checkin is None or checkin.person_id != person.id:
            return None
        return checkin

    async def _show_outcome(self, person: Person, ref: str | None, text: str) -> None:
        """Replace the check-in's buttons with what happened, so it can't be answered twice."""
        if ref is None:
            return
        try:
            await self._services.delivery.update_checkin(
                person.platform, person.platform_user_id, ref, Message(text)
            )
        except (DeliveryError, NoAdapter, OSError) as failure:
            logger.warning("could not tidy an answered check-in: %s", failure)

    async def _refuse_late(self, person: Person, checkin: Checkin, ref: str | None) -> None:
        text = self._services.text
        await self._services.checkins.close(row_id(checkin), self._services.clock())
        day = self._services.catalogue.day(person.locale, checkin.local_date)
        await self._show_outcome(person, ref, text(person, "checkin.closed_record", day=day))
        await self._services.reply(person, Message(text(person, "checkin.late", day=day)))

    async def _skip(self, person: Person, checkin: Checkin, ref: str | None) -> None:
        text = self._services.text
        if not await self._services.checkins.close(row_id(checkin), self._services.clock()):
            await self._services.reply(person, Message(text(person, "checkin.already_answered")))
            return
        await self._show_outcome(person, ref, text(person, "checkin.skipped_record"))
        await self._services.reply(person, Message(text(person, "checkin.skipped")))

    async def _record_mood(
        self, person: Person, checkin: Checkin, score: int, ref: str | None
    ) -> None:
        services = self._services
        text = services.text
        now = services.clock()
        window = timedelta(minutes=services.settings.checkin.note_window_minutes)
        answer = MoodAnswer(services.pseudonym(person), person.team, checkin.local_date, score)
        if not await services.checkins.answer(row_id(checkin), now, now + window, answer):
            await services.reply(person, Message(text(person, "checkin.already_answered")))
            return
        mood = text(person, MOOD_KEYS[score])
        await self._show_outcome(person, ref, text(person, "checkin.chosen", mood=mood))
        no_thanks = Button(
            text(person, "buttons.no_thanks"), Choice(Action.NO_NOTE, checkin.id).encode()
        )
        if score <= LOW_MOOD_MAX:
            buttons = (*self._support.offer_buttons(person, SupportReason.LOW_MOOD), (no_thanks,))
            await services.reply(person, Message(text(person, "checkin.low_reply"), buttons))
        elif await self._trend_calls_for_offer(person, checkin.local_date, score):
            buttons = (*self._support.offer_buttons(person, SupportReason.TREND), (no_thanks,))
            await services.reply(person, Message(text(person, "routing.trend_offer"), buttons))
        else:
            await services.reply(
                person, Message(text(person, "checkin.note_prompt"), ((no_thanks,),))
            )

    async def _trend_calls_for_offer(self, person: Person, day: date, score: int) -> bool:
        """Three lows in a row, or 2+ below the person's own 14-day mean (DESIGN §3)."""
        services = self._services
        since = day - timedelta(days=WINDOW_DAYS)
        history = await services.moods.history(services.pseudonym(person), since)
        return trend_calls_for_offer(history, day, score)

    async def on_note(self, person: Person, checkin: Checkin, note: str) -> None:
        """The optional note: screened for crisis and distress in memory, then let go.

        The text is never stored or logged; only the outcome of screening is acted on.
        """
        services = self._services
        if not await services.checkins.close_note(row_id(checkin)):
            return
        if await self._support.screen(person, note):
            return
        score = await services.moods.on_day(services.pseudonym(person), checkin.local_date)
        offered = score is not None and (
            score <= LOW_MOOD_MAX
            or await self._trend_calls_for_offer(person, checkin.local_date, score)
        )
        # Held in memory only, so the person may choose to share it with a volunteer.
        await self._support.after_note(person, note, offered=offered)
        key = (
            "checkin.note_thanks_low"
            if score is not None and score <= LOW_MOOD_MAX
            else "checkin.note_thanks"
        )
        await services.reply(person, Message(services.text(person, key)))
