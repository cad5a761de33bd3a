"""The election loop on its own, with an in-memory lock shared by two candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.leadership import Leadership, Role
from storage.locks import LockError


@dataclass
class Board:
    """Who holds the lock, and whether its database answers."""

    holder: object | None = None
    reachable: bool = True


@dataclass
class MemoryLock:
    board: Board
    me: object = field(default_factory=object)

    async def try_acquire(self) -> bool:
        if not self.board.reachable:
            raise LockError("no database")
        if self.board.holder is None:
            self.board.holder = self.me
        return self.board.holder is self.me

    async def still_held(self) -> bool:
        return self.board.reachable and self.board.holder is self.me

    async def release(self) -> None:
        if self.board.holder is self.me:
            self.board.holder = None


@dataclass
class Candidate:
    board: Board
    now: list[float] = field(default_factory=lambda: [0.0])
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.leadership = Leadership(
            MemoryLock(self.board),
            on_elected=self.elected,
            on_deposed=self.deposed,
            interval=1.0,
            monotonic=lambda: self.now[0],
        )

    async def elected(self) -> None:
        self.log.append("elected")

    async def deposed(self) -> None:
        self.log.append("deposed")


async def test_one_leads_the_other_follows_and_takes_over_when_the_lock_is_free() -> None:
    board = Board()
    first, second = Candidate(board), Candidate(board)
    assert await first.leadership.step() is Role.LEADER
    assert await second.leadership.step() is Role.FOLLOWER
    assert second.leadership.leader_known and not second.leadership.is_leader
    assert await first.leadership.step() is Role.LEADER  # re-check keeps it
    await first.leadership.resign()
    assert await second.leadership.step() is Role.LEADER
    assert first.log == ["elected", "deposed"] and second.log == ["elected"]


async def test_losing_the_lock_stops_the_scheduler_at_the_next_check() -> None:
    board = Board()
    leader = Candidate(board)
    await leader.leadership.step()
    board.holder = object()  # the server freed our lock and someone else took it
    assert await leader.leadership.step() is Role.UNKNOWN
    assert leader.log == ["elected", "deposed"]
    assert await leader.leadership.step() is Role.FOLLOWER


async def test_an_unreachable_database_means_no_leader_is_known() -> None:
    board = Board(reachable=False)
    candidate = Candidate(board)
    assert await candidate.leadership.step() is Role.UNKNOWN
    assert not candidate.leadership.leader_known
    board.reachable = True
    assert await candidate.leadership.step() is Role.LEADER
    board.reachable = False
    assert await candidate.leadership.step() is Role.UNKNOWN
    assert candidate.log == ["elected", "deposed"]


async def test_a_stale_check_no_longer_counts_as_knowing_the_leader() -> None:
    board = Board()
    first, second = Candidate(board), Candidate(board)
    await first.leadership.step()
    await second.leadership.step()
    second.now[0] += 10  # no check for ten intervals: the loop must be stuck
    assert not second.leadership.leader_known


async def test_a_scheduler_that_fails_to_start_gives_the_lock_back() -> None:
    board = Board()

    class Broken(Candidate):
        async def elected(self) -> None:
            raise RuntimeError("no scheduler today")

    broken = Broken(board)
    assert await broken.leadership.step() is Role.UNKNOWN
    assert board.holder is None
    assert await Candidate(board).leadership.step() is Role.LEADER
