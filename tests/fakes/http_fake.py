"""Shared machinery for the HTTP test doubles of chat-platform APIs.

``FakeSlack`` and ``FakeTelegram`` serve real HTTP on 127.0.0.1 so that the real
client libraries (slack_sdk on aiohttp, python-telegram-bot on httpx) run their
own encoding, retry and error-mapping code against them. What both fakes share
lives here, written once:

* ``read_args`` merges query string, urlencoded or multipart form and JSON body,
  because each client picks a different transport per API method;
* ``CallLog`` records every request and lets a test wait for calls that arrive
  after the code under test has returned (Bolt acks before its listener
  finishes, PTB handles updates on background tasks);
* ``Override`` is a scripted reply queued with ``respond()``; ``Faults`` injects
  a seeded share of failures for resilience tests;
* ``HttpFake`` runs the aiohttp server and the per-call pipeline
  (override → fault → default handler).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import BodyPartReader, hdrs, web
from multidict import CIMultiDictProxy

Args = dict[str, Any]
Predicate = Callable[[Args], bool]

FAULT_KINDS: Final = ("500", "429", "timeout", "drop", "bad_json")

# What a misbehaving proxy or load balancer sends: status 200, a JSON content
# type, and a body no JSON parser accepts.
BAD_JSON_BODY: Final = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request (Telegram sendPhoto/sendDocument)."""

    name: str  # the form field, e.g. "photo"
    filename: str | None
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Call:
    """One request as the fake saw it.

    The fields after ``files`` are filled in while the call is answered, so a
    test can tell a call that took effect (``delivered``) from one that was
    rejected by an override or a fault.
    """

    method: str
    args: Args
    headers: CIMultiDictProxy[str]
    http_method: str = "POST"
    files: list[UploadedFile] = field(default_factory=list)
    # The client's (host, port): calls sharing one are on one kept-alive connection.
    peer: tuple[str, int] | None = None
    status: int | None = None  # HTTP status sent back; None while in flight or if dropped
    fault: str | None = None  # the Faults kind injected into this call, if any
    overridden: bool = False  # answered by a respond() override
    response: Any = None  # the JSON body sent back (None for raw or dropped answers)
    # The fake's default handler ran, i.e. the platform "did" it. True even for
    # "timeout" and "bad_json" faults: the work happened but the client never
    # saw a usable answer, which is exactly how duplicate sends arise.
    delivered: bool = False

    @property
    def bearer_token(self) -> str | None:
        """The token from ``Authorization: Bearer …`` (how slack_sdk sends it) or ``token=``."""
        auth = self.headers.get(hdrs.AUTHORIZATION, "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ")
        token = self.args.get("token")
        return token if isinstance(token, str) else None


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: a JSON ``body``, or ``raw`` bytes sent verbatim."""

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"

    def to_response(self) -> web.Response:
        data = self.raw if self.raw is not None else json.dumps(self.body).encode()
        return web.Response(
            body=data,
            status=self.status,
            headers=dict(self.headers),
            content_type=self.content_type,
        )


@dataclass
class Override:
    """A scripted reply for ``method``, used ``times`` times (``None``: until cleared)."""

    method: str
    reply: Reply
    times: int | None = 1
    when: Predicate | None = None
    delay: float = 0.0
    used: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, call: Call) -> bool:
        if call.method != self.method or self.exhausted:
            return False
        return self.when is None or self.when(call.args)


@dataclass
class Faults:
    """Inject failures into a seeded, random share of otherwise successful calls.

    Kinds: ``"500"`` and ``"429"`` (platform-shaped error replies, the call has
    no effect), ``"timeout"`` (the call takes effect, then the answer is held
    back ``timeout_delay`` seconds, longer than the client should wait),
    ``"drop"`` (the connection is closed without an answer, no effect) and
    ``"bad_json"`` (the call takes effect, then a 200 with a non-JSON body).
    Overrides queued with ``respond()`` win over faults. The same seed and
    the same call order give the same faults.
    """

    rate: float = 0.0
    kinds: Collection[str] = FAULT_KINDS
    seed: int | None = None
    methods: Collection[str] | None = None  # None: every API method is eligible
    timeout_delay: float = 2.0
    considered: int = field(default=0, init=False)
    injected: Counter[str] = field(default_factory=Counter, init=False)
    _rng: random.Random = field(init=False, repr=False)
    _kinds: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be a non-empty subset of {FAULT_KINDS}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        # A fixed order (not the caller's, which may be an unordered set)
        # keeps choice() reproducible for a given seed.
        self._kinds = tuple(kind for kind in FAULT_KINDS if kind in self.kinds)
        self._rng = random.Random(self.seed)

    @property
    def total(self) -> int:
        """How many faults were injected so far."""
        return sum(self.injected.values())

    def pick(self, method: str) -> str | None:
        """Decide the fate of one call: a fault kind, or ``None`` to answer normally."""
        if self.methods is not None and method not in self.methods:
            return None
        self.considered += 1
        if self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self._kinds)
        self.injected[kind] += 1
        return kind


class CallLog:
    """Every call in arrival order, plus waiting for calls that have not arrived yet."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._changed = asyncio.Condition()

    def select(self, method: str | None = None, *, delivered: bool | None = None) -> list[Call]:
        return [
            call
            for call in self._calls
            if (method is None or call.method == method)
            and (delivered is None or call.delivered == delivered)
        ]

    async def add(self, call: Call) -> None:
        self._calls.append(call)
        await self.touch()

    async def touch(self) -> None:
        """Wake waiters: a call arrived or its outcome changed."""
        async with self._changed:
            self._changed.notify_all()

    def clear(self) -> None:
        self._calls.clear()

    async def wait_for(
        self,
        method: str | None,
        count: int,
        timeout: float,  # noqa: ASYNC109 - a deadline per wait is the point of this API
        *,
        delivered: bool,
    ) -> list[Call]:
        only_delivered = True if delivered else None

        def enough() -> bool:
            return len(self.select(method, delivered=only_delivered)) >= count

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(enough)
        except TimeoutError:
            got = len(self.select(method, delivered=only_delivered))
            seen = sorted({call.method for call in self._calls})
            what = "delivered " if delivered else ""
            raise AssertionError(
                f"waited {timeout}s for {count} {what}{method or 'any'!r} call(s), got {got}; "
                f"methods seen: {seen}"
            ) from None
        return self.select(method, delivered=only_delivered)


async def read_args(request: web.Request) -> tuple[Args, list[UploadedFile]]:
    """Merge query parameters, form fields (urlencoded or multipart) and a JSON body."""
    args: Args = dict(request.query)
    files: list[UploadedFile] = []
    if not request.body_exists:
        return args, files
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is None:
                args[part.name] = await part.text()
            else:
                content_type = part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream")
                data = bytes(await part.read())
                files.append(UploadedFile(part.name, part.filename, content_type, data))
    elif request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        args.update({key: value for key, value in form.items() if isinstance(value, str)})
    else:
        # JSON, also when a client forgets the JSON content type.
        raw = await request.read()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise web.HTTPBadRequest(text="body is neither a form nor JSON") from None
            if isinstance(body, dict):
                args.update(body)
    return args, files


class HttpFake:
    """An aiohttp server on an ephemeral 127.0.0.1 port plus the shared call pipeline.

    Subclasses add their routes, call ``dispatch()`` for each API request and
    supply the platform's default and fault replies.
    """

    # How long shutdown waits for in-flight handlers; the fakes wake their own
    # sleepers on close, so this only bounds a misbehaving handler.
    shutdown_timeout: float = 1.0

    def __init__(self) -> None:
        self.faults: Faults | None = None
        self._log = CallLog()
        self._overrides: list[Override] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the fake is not running: use `async with`")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self._add_routes(app.router)
        runner = web.AppRunner(app, shutdown_timeout=self.shutdown_timeout, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._closing.set()  # wake long polls and fault sleeps so shutdown is quick
        await self._before_close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- recording and scripting ---------------------------------------------

    def calls(self, method: str | None = None, *, delivered: bool | None = None) -> list[Call]:
        """Calls in arrival order, optionally only one method / only (un)delivered ones."""
        return self._log.select(method, delivered=delivered)

    async def wait_for(
        self,
        method: str | None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - tests read better with a deadline argument
        *,
        delivered: bool = False,
    ) -> list[Call]:
        """Wait for ``count`` calls of ``method`` (or that many that took effect).

        Raises AssertionError naming the methods seen if they do not arrive in time.
        """
        return await self._log.wait_for(method, count, timeout, delivered=delivered)

    def clear_calls(self) -> None:
        self._log.clear()

    def respond(
        self,
        method: str,
        payload: Any,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        when: Predicate | None = None,
        delay: float = 0.0,
    ) -> Override:
        """Answer the next ``times`` matching calls with ``payload`` instead of the default.

        ``when`` sees the call's merged args; ``times=None`` keeps the override
        until ``clear_overrides()``. Overridden calls do not take effect.
        """
        override = Override(method, Reply(payload, status, dict(headers or {})), times, when, delay)
        self._overrides.append(override)
        return override

    def clear_overrides(self) -> None:
        self._overrides.clear()

    # -- pipeline ---------------------------------------------------------------

    async def dispatch(
        self, request: web.Request, method: str, *, rejection: Reply | None = None
    ) -> web.StreamResponse:
        """Record one API call and answer it; ``rejection`` short-circuits (e.g. a bad token)."""
        args, files = await read_args(request)
        call = Call(
            method=method,
            args=self._normalise_args(args),
            headers=request.headers,
            http_method=request.method,
            files=files,
            peer=_peer(request),
        )
        await self._log.add(call)
        reply = rejection if rejection is not None else await self._answer(call)
        if reply is None:
            # Closing the transport before writing a byte is what the client
            # sees as a dropped connection; aiohttp swallows the
            # ConnectionError raised when it then writes the response below.
            if request.transport is not None:
                request.transport.close()
            await self._log.touch()
            return web.Response(status=502)
        call.status, call.response = reply.status, reply.body
        await self._log.touch()
        return reply.to_response()

    async def _answer(self, call: Call) -> Reply | None:
        """Override first, then a possible fault, else the default handler; None = drop."""
        override = next((o for o in self._overrides if o.matches(call)), None)
        if override is not None:
            override.used += 1
            call.overridden = True
            await self._pause(override.delay)
            return override.reply
        faults = self.faults
        fault = faults.pick(call.method) if faults is not None else None
        call.fault = fault
        if fault is not None and fault in ("500", "429"):
            return self._fault_reply(fault)
        if fault == "drop":
            return None
        reply = await self._default_reply(call)
        call.delivered = True
        await self._log.touch()
        if fault == "timeout" and faults is not None:
            await self._pause(faults.timeout_delay)
        if fault == "bad_json":
            return Reply(raw=BAD_JSON_BODY)
        return reply

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the fake shuts down so no test waits on it."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    # -- subclass hooks ----------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    def _normalise_args(self, args: Args) -> Args:
        """Turn wire encodings into the values the platform would see (per platform)."""
        return args

    async def _default_reply(self, call: Call) -> Reply:
        raise NotImplementedError

    def _fault_reply(self, kind: str) -> Reply:
        """The platform's own shape for an injected "500" or "429"."""
        raise NotImplementedError

    async def _before_close(self) -> None:
        """Release what the runner cannot (open WebSockets, long-poll waiters)."""


def _peer(request: web.Request) -> tuple[str, int] | None:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
