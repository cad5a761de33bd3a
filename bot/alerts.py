"""The alert chain: one volunteer at a time until someone reaches out. Never dropped.

A request alerts the best available volunteer (:mod:`bot.routing`). `I'll reach out`
claims it (the first claim wins); `Can't right now`, an unreachable volunteer or
the claim timeout (15 minutes, 5 for a crisis) hands it to the next. With nobody
left it goes to the escalation channel and the person is told honestly, with the
crisis lines again. Every step is a row and every timer a timestamp, so the tick
(:meth:`AlertChain.tick`) picks up where any crashed or restarted worker left off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messages import Message
from bot.notehold import NoteHold
from bot.outbox import Outbox
from bot.routing import VolunteerPicker
from bot.services import Services
from bot.support_kinds import Kind
from storage.audit import AuditAction
from storage.models import Person, row_id
from storage.outbox import as_utc
from storage.relay import RelayRepository
from storage.support import (
    UNCLAIMED,
    AlertStatus,
    Notice,
    OutboxItem,
    RequestStatus,
    SupportAlert,
    SupportRequest,
    saved_id,
)
from storage.support_alerts import AlertRepository
from storage.support_requests import SupportRepository

logger = logging.getLogger(__name__)

CRISIS = "crisis"
#: Requests left unclaimed after escalation are offered to newly available
#: volunteers for this long.
REROUTE_WINDOW = timedelta(days=7)
#: A request this new is still being routed by the call that opened it.
SETTLE = timedelta(minutes=1)


@dataclass(frozen=True)
class RequestOutcome:
    """What :meth:`AlertChain.request` did."""

    request: SupportRequest
    new: bool
    alerted: bool


class AlertChain:
    """Opens requests, alerts volunteers, takes claims and passes, escalates."""

    def __init__(
        self,
        services: Services,
        requests: SupportRepository,
        alerts: AlertRepository,
        picker: VolunteerPicker,
        outbox: Outbox,
        notes: NoteHold,
        relays: RelayRepository,
    ) -> None:
        self._services = services
        self._requests = requests
        self._alerts = alerts
        self._picker = picker
        self._outbox = outbox
        self._notes = notes
        self._relays = relays
        outbox.on_unreachable = self._unreachable

    def timeout(self, request: SupportRequest) -> timedelta:
        """How long one volunteer has to claim this request."""
        support = self._services.settings.support
        minutes = (
            support.crisis_claim_timeout_minutes
            if request.urgent
            else support.claim_timeout_minutes
        )
        return timedelta(minutes=minutes)

    async def request(self, person: Person, reason: str, *, anonymous: bool) -> RequestOutcome:
        """The person said yes: open a request (unless one is open) and alert someone."""
        now = self._services.clock()
        existing = await self._requests.active_for(row_id(person))
        if existing is not None:
            if reason == CRISIS and not existing.urgent and existing.status in UNCLAIMED:
                await self._requests.make_urgent(saved_id(existing), reason, now)
            return RequestOutcome(existing, new=False, alerted=False)
        request = await self._requests.open_request(
            row_id(person), reason, urgent=reason == CRISIS, anonymous=anonymous, now=now
        )
        if not anonymous:
            # Saying yes to a named request lets a volunteer learn who they are.
            await self._services.audit.record(
                person, AuditAction.REVEAL, "named support request", about=person
            )
        alerted = await self.advance(request, person, now)
        return RequestOutcome(request, new=True, alerted=alerted)

    async def advance(self, request: SupportRequest, person: Person, now: datetime) -> bool:
        """Alert the next volunteer, or escalate when nobody is left; True if alerted."""
        pick = await self._picker.pick(person, request, now)
        if pick.volunteer is None:
            await self._escalate(request, person, pick.volunteers_exist, now)
            return False
        volunteer_id = row_id(pick.volunteer)
        ids = await self._alerts.add_alert(
            saved_id(request),
            volunteer_id,
            now=now,
            expires_at=now + self.timeout(request),
            notices=[Notice(Kind.ALERT, recipient_id=volunteer_id)],
        )
        if ids is None:
            return False
        logger.info("support request #%s: alerting volunteer #%s", request.id, volunteer_id)
        await self._outbox.send_now(ids)
        return True

    async def _escalate(
        self, request: SupportRequest, person: Person, volunteers_exist: bool, now: datetime
    ) -> None:
        channel = self._services.settings.support.escalation_channel
        notices = []
        if channel:
            notices.append(Notice(Kind.ESCALATION, destination=channel))
            told = Kind.DELAYED_ESCALATED
        else:
            told = Kind.DELAYED_WAITING if volunteers_exist else Kind.NO_VOLUNTEERS
        notices.append(Notice(told, recipient_id=row_id(person)))
        ids = await self._requests.escalate(saved_id(request), now, notices)
        if ids is None:
            return  # already escalated: the channel and the person know
        logger.warning(
            "support request #%s: no volunteer free; %s",
            request.id,
            "sent to the escalation channel" if channel else "no escalation_channel is set",
        )
        await self._outbox.send_now(ids)

    async def claim(self, volunteer: Person, request_id: int) -> None:
        """`I'll reach out`: the first claim wins; everyone else hears it is taken."""
        services = self._services
        request = await self._requests.get(request_id)
        alerts = await self._alerts.alerts(request_id) if request else []
        volunteer_id = row_id(volunteer)
        alerted = any(alert.volunteer_id == volunteer_id for alert in alerts)
        if (
            request is None
            or request.person_id == volunteer_id
            or not (alerted or request.status == RequestStatus.ESCALATED.value)
        ):
            await self._say(volunteer, "routing.no_longer_open")
            return
        if request.anonymous and volunteer_id in await self._relays.busy_volunteers():
            await self._say(volunteer, "routing.busy_in_chat")
            return
        if request.status not in UNCLAIMED:
            key = (
                "routing.already_yours"
                if request.claimed_by == volunteer_id
                else "routing.taken_you"
            )
            await self._say(volunteer, key)
            return
        notices = [
            Notice(Kind.CLAIMED, recipient_id=request.person_id),
            Notice(Kind.CONFIRMED, recipient_id=volunteer_id),
            *(
                Notice(Kind.TAKEN, recipient_id=alert.volunteer_id)
                for alert in alerts
                if alert.volunteer_id != volunteer_id
                and alert.status in (AlertStatus.PENDING.value, AlertStatus.TIMED_OUT.value)
            ),
        ]
        channel = services.settings.support.escalation_channel
        if request.status == RequestStatus.ESCALATED.value and channel:
            notices.append(Notice(Kind.ESCALATION_TAKEN, destination=channel))
        ids = await self._alerts.claim(request_id, volunteer_id, services.clock(), notices)
        if ids is None:
            await self._say(volunteer, "routing.taken_you")
            return
        logger.info("support request #%s claimed by volunteer #%s", request_id, volunteer_id)
        await self._outbox.send_now(ids)
        await self._share_note(volunteer, request)

    async def _share_note(self, volunteer: Person, request: SupportRequest) -> None:
        if request.anonymous or request.share_note is False:
            self._notes.drop(request.person_id)
            return
        if request.share_note is None:
            return  # not answered yet: the note waits (in memory) for their answer
        note = self._notes.take(request.person_id)
        if note is None:
            await self._say(volunteer, "routing.note_gone")
            return
        text = self._services.text(volunteer, "routing.note_shared", note=note)
        await self._services.reply(volunteer, Message(text))

    async def share_after_claim(self, request: SupportRequest) -> bool:
        """Show a note to the volunteer who already claimed; False if it is gone."""
        volunteer = await self._services.people.get(request.claimed_by or 0)
        note = self._notes.take(request.person_id)
        if volunteer is None or note is None:
            return False
        text = self._services.text(volunteer, "routing.note_shared", note=note)
        return await self._services.reply(volunteer, Message(text)) is not None

    async def decline(self, volunteer: Person, request_id: int) -> None:
        """`Can't right now`: thank them and ask the next volunteer at once."""
        now = self._services.clock()
        mine = next(
            (
                alert
                for alert in await self._alerts.alerts(request_id)
                if alert.volunteer_id == volunteer.id and alert.status == AlertStatus.PENDING.value
            ),
            None,
        )
        moved = (
            await self._alerts.answer_alert(saved_id(mine), AlertStatus.PASSED, now, "passed")
            if mine
            else None
        )
        if moved is None:
            await self._say(volunteer, "routing.pass_too_late")
            return
        await self._say(volunteer, "routing.passed")
        await self._hand_off(moved, now)

    async def _hand_off(self, alert: SupportAlert, now: datetime) -> None:
        request = await self._requests.get(alert.request_id)
        if request is None or request.status not in UNCLAIMED:
            return
        person = await self._services.people.get(request.person_id)
        if person is None:
            return
        await self._requests.record(saved_id(request), "handed_off", now, alert.volunteer_id)
        await self.advance(request, person, now)

    async def _unreachable(self, item: OutboxItem) -> None:
        if item.kind != Kind.ALERT or item.request_id is None:
            return
        now = self._services.clock()
        for alert in await self._alerts.alerts(item.request_id):
            if alert.volunteer_id == item.recipient_id:
                moved = await self._alerts.answer_alert(
                    saved_id(alert), AlertStatus.FAILED, now, "unreachable"
                )
                if moved is not None:
                    await self._hand_off(moved, now)

    async def tick(self, now: datetime) -> None:
        """Time out unanswered alerts, resume stalled requests, check in with volunteers."""
        for alert in await self._alerts.due_timeouts(now):
            moved = await self._alerts.answer_alert(
                saved_id(alert), AlertStatus.TIMED_OUT, now, "timed_out"
            )
            if moved is not None:
                await self._hand_off(moved, now)
        for request in await self._alerts.unattended(now - REROUTE_WINDOW):
            if as_utc(request.created_at) > now - SETTLE:
                continue
            person = await self._services.people.get(request.person_id)
            if person is not None:
                # A request left with nobody alerted (a crash mid-hand-off, or an
                # escalation waiting for someone to come back on duty) moves on.
                await self.advance(request, person, now)
        for request in await self._requests.due_volunteer_checkins(now):
            ids = await self._requests.take_volunteer_checkin(
                saved_id(request), now, [Notice(Kind.VOLUNTEER_CHECKIN, request.claimed_by)]
            )
            if ids:
                await self._outbox.send_now(ids)

    async def _say(self, person: Person, key: str) -> None:
        await self._services.reply(person, Message(self._services.text(person, key)))
