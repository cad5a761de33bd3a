"""Data rights: a copy of your data (`/mydata`) and erasure (`/forgetme`).

The chat commands and `kiln people export|forget` share :func:`export_person` and
:func:`erase_person`, which ask every registered
:class:`~bot.personal_data.PersonalDataHolder` and write the audit log.

`/mydata` sends two messages, the JSON file and then the same data as CSV, rather
than one zip: a message carries one file, and a zip is a chore to open on a phone,
where most people will read it. JSON is the complete, machine-readable copy (the
one to hand to another service); CSV opens in any spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.choices import Action, Choice
from bot.commands import Commands
from bot.delivery import NoAdapter
from bot.messages import Attachment, Button, Message
from bot.personal_data import DataSubject, Record
from bot.ports import DeliveryError
from bot.services import Services
from bot.whosees import who_sees
from storage.audit import AuditAction
from storage.models import Person

logger = logging.getLogger(__name__)

EXPORT_VERSION = 1
#: A `/forgetme` confirmation button works for this long after it was sent.
CONFIRM_MINUTES = 60
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _plain(value: object) -> str:
    """How a value reads in JSON and CSV: dates as ISO 8601, the rest as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return "" if value is None else str(value)


@dataclass(frozen=True)
class PersonalExport:
    """Everything kiln holds about one person, by section (identity first)."""

    generated_at: datetime
    sections: dict[str, list[Record]]

    def as_dict(self) -> dict[str, object]:
        """The export as one JSON-ready mapping."""
        identity = self.sections.get("identity") or [{}]
        data: dict[str, object] = {
            "kiln_export": {
                "version": EXPORT_VERSION,
                "generated_at": self.generated_at.isoformat(),
                "about": "Everything kiln holds about you. Moods are stored under a "
                "pseudonym, never your name; notes are never stored.",
            },
            "identity": identity[0],
        }
        data.update({name: rows for name, rows in self.sections.items() if name != "identity"})
        return data

    def to_json(self) -> bytes:
        """The export as indented UTF-8 JSON."""
        return json.dumps(self.as_dict(), indent=2, default=_plain, ensure_ascii=False).encode()

    def to_csv(self) -> bytes:
        """The export as one long CSV table: section, item, field, value."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["section", "item", "field", "value"])
        for name, rows in self.sections.items():
            for item, row in enumerate(rows, start=1):
                for field, value in row.items():
                    writer.writerow([name, item, field, _safe_cell(_plain(value))])
        return buffer.getvalue().encode()


def _safe_cell(value: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def subject_of(services: Services, person: Person) -> DataSubject:
    """The person with the keys their data is filed under."""
    return DataSubject(person, services.pseudonym(person))


async def export_person(
    services: Services, person: Person, *, actor: Person | str, channel: str
) -> PersonalExport:
    """Everything kiln holds about a person; the export is audited.

    Args:
        services: The engine's collaborators.
        person: Whose data.
        actor: The person asking (themselves) or ``admin``.
        channel: How it was asked for ("chat", "command line"), for the audit log.
    """
    sections = await services.personal_data.export(subject_of(services, person))
    await services.audit.record(
        actor, AuditAction.EXPORT, f"all data held about one person ({channel})", about=person
    )
    return PersonalExport(services.clock(), sections)


async def erase_person(
    services: Services, person: Person, *, actor: str, channel: str
) -> dict[str, int]:
    """Erase everything kiln holds about a person; returns rows removed per section.

    The audit entry records that an erasure happened, by whom (``person`` for the
    person themselves, or ``admin``), never whose.
    """
    counts = await services.personal_data.erase(subject_of(services, person))
    await services.audit.record(
        actor, AuditAction.ERASE, f"all data held about one person ({channel})"
    )
    return counts


class DataRights:
    """`/mydata`, `/forgetme` (with its confirmation) and `/whosees` in chat."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def install(self, commands: Commands) -> None:
        """Register the commands."""
        commands.register("mydata", self.my_data)
        commands.register("forgetme", self.forget_me)
        commands.register("whosees", self.who_sees)

    async def my_data(self, person: Person, _args: tuple[str, ...]) -> None:
        """Send the person their data: the JSON file, then the same as CSV."""
        services = self._services
        export = await export_person(services, person, actor=person, channel="chat, /mydata")
        stem = f"kiln-my-data-{export.generated_at.date().isoformat()}"
        for key, suffix, content, mime in (
            ("privacy.mydata_json", "json", export.to_json(), "application/json"),
            ("privacy.mydata_csv", "csv", export.to_csv(), "text/csv"),
        ):
            attachment = Attachment(f"{stem}.{suffix}", content, mime)
            await services.reply(person, Message(services.text(person, key), attachment=attachment))

    async def forget_me(self, person: Person, _args: tuple[str, ...]) -> None:
        """Ask for confirmation before erasing anything."""
        text = self._services.text
        asked = self._minute(self._services.clock())
        buttons = (
            (
                Button(text(person, "privacy.forget_yes"), Choice(Action.ERASE, asked).encode()),
                Button(text(person, "privacy.forget_no"), Choice(Action.KEEP_DATA, asked).encode()),
            ),
        )
        await self._services.reply(person, Message(text(person, "privacy.forget_confirm"), buttons))

    async def who_sees(self, person: Person, _args: tuple[str, ...]) -> None:
        """Explain who can see what."""
        await self._services.reply(person, await who_sees(self._services, person))

    async def on_choice(self, person: Person, choice: Choice, message_ref: str | None) -> bool:
        """Handle the `/forgetme` buttons; False for any other button."""
        if choice.action not in (Action.ERASE, Action.KEEP_DATA):
            return False
        services = self._services
        text = services.text
        if choice.action is Action.KEEP_DATA:
            await self._tidy(person, message_ref, text(person, "privacy.forget_cancelled_record"))
            await services.reply(person, Message(text(person, "privacy.forget_cancelled")))
            return True
        age = self._minute(services.clock()) - (choice.target or 0)
        if not 0 <= age <= CONFIRM_MINUTES:
            await self._tidy(person, message_ref, text(person, "privacy.forget_expired_record"))
            await services.reply(person, Message(text(person, "privacy.forget_expired")))
            return True
        await erase_person(services, person, actor="person", channel="chat, /forgetme")
        # The person row is gone, but this object still says where to send the goodbye.
        await self._tidy(person, message_ref, text(person, "privacy.forgotten_record"))
        await services.reply(person, Message(text(person, "privacy.forgotten")))
        return True

    async def _tidy(self, person: Person, message_ref: str | None, outcome: str) -> None:
        """Replace the confirmation's buttons with what happened."""
        if message_ref is None:
            return
        try:
            await self._services.delivery.update_checkin(
                person.platform, person.platform_user_id, message_ref, Message(outcome)
            )
        except (DeliveryError, NoAdapter, OSError) as failure:
            logger.warning("could not tidy a /forgetme question: %s", type(failure).__name__)

    @staticmethod
    def _minute(moment: datetime) -> int:
        """Minutes since 2020, small enough for a button value."""
        return int((moment - EPOCH) // timedelta(minutes=1))


async def purge_expired(services: Services, now: datetime, *, actor: str) -> dict[str, int]:
    """Delete everything past its retention period, in every holder; rows per section.

    Runs daily from the scheduler (``actor`` ``system``) and on `kiln purge` (``admin``);
    a purge that removed anything is written to the audit log, with counts only.
    """
    counts = await services.personal_data.purge(now)
    removed = {section: count for section, count in counts.items() if count}
    if removed:
        summary = ", ".join(f"{count} {section}" for section, count in removed.items())
        await services.audit.record(actor, AuditAction.PURGE, f"past retention: {summary}")
    return counts
