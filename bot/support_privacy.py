"""What the support tables hold about a person, as a personal-data holder.

Exported: the person's own support requests with their consents (to share a note,
to reveal who they are in an anonymous chat), the alerts they received as a
Wellbeing Warrior (times and outcomes only, nothing about whom they were for), and
their availability. Erased: all of it. Retention: a closed case is cut down to its
team, week and timings 90 days after it closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.personal_data import DataSubject, Record
from storage.support_records import SupportRecords

#: Closed cases keep their details this long, then only counts and timings.
CLOSED_CASE_DAYS = 90


class SupportHolder:
    """Support requests, alerts and volunteer status, for export, erasure and the trim."""

    section = "support"

    def __init__(self, records: SupportRecords) -> None:
        self._records = records

    async def export(self, subject: DataSubject) -> list[Record]:
        """One record per request, alert and status row, each saying which it is."""
        found = await self._records.of_person(subject.person_id)
        out: list[Record] = [
            {
                "kind": "your support request",
                "made_at": request.created_at,
                "reason": request.reason,
                "anonymous": request.anonymous,
                "consent_to_share_note": request.share_note,
                "consent_to_reveal_identity": revealed,
                "status": request.status,
                "claimed_at": request.claimed_at,
                "closed_at": request.closed_at,
            }
            for request, revealed in found.requests
        ]
        out += [
            {
                "kind": "alert sent to you as a Wellbeing Warrior",
                "sent_at": alert.created_at,
                "outcome": alert.status,
                "answered_at": alert.answered_at,
            }
            for alert in found.alerts
        ]
        if found.status is not None:
            out.append(
                {
                    "kind": "your availability as a Wellbeing Warrior",
                    "away": found.status.away,
                    "on_call_until": found.status.on_call_until,
                }
            )
        return out

    async def erase(self, subject: DataSubject) -> int:
        """Delete the person's support rows and unlink them from cases they took."""
        return await self._records.erase(subject.person_id)

    async def purge(self, now: datetime) -> int:
        """Cut cases closed over 90 days ago down to counts and timings."""
        return await self._records.trim_closed_before(now - timedelta(days=CLOSED_CASE_DAYS))
