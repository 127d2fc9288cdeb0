"""The base of every vendor emulator's app: routes, auth, rate limiting, request counting and the
vendor's error shape, so a vendor's `app.py` lists routes and renders errors, nothing more.

A vendor emulator is an app (this) over a world (its deterministic data, `world.py`); the server
(`server.py`) serves any app over real HTTP on loopback and injects faults.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plumbing_dagster.kit.emulator.server import EmulatorRequest, EmulatorResponse


class BadRequest(ValueError):
    """A request the API rejects; rendered in the vendor's error shape by `EmulatorApp.error`."""

    def __init__(self, message: str, *, status: int = 400, key: str = "bad_request", details: Any = None):
        super().__init__(message)
        self.status, self.key, self.message, self.details = status, key, message, details


Handler = Callable[..., EmulatorResponse]


@dataclass(frozen=True)
class Route:
    """`pattern` is a regular expression matched against the whole path; its named groups are
    passed to the handler as keyword arguments. `scope` is what `authorize` checks (None: open)."""

    method: str
    pattern: str
    handler: Handler
    name: str
    scope: str | None = ""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def match(self, path: str) -> dict[str, str] | None:
        found = self._compiled.fullmatch(path)
        return found.groupdict() if found else None


class RateLimiter:
    """At most `limit` admitted requests in any sliding second (on the real monotonic clock)."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self._clock = clock
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0] <= now - 1.0:
                self._admitted.popleft()
            if len(self._admitted) >= self.limit:
                return False
            self._admitted.append(now)
            return True


class EmulatorApp:
    """Routes requests; subclasses give `routes()`, `error()` and, if the API has auth, `authorize()`.

    Order of work for each request, as in front of a real API: count it, throttle it (`limiter`),
    route it (unknown path: 404, wrong method: 405), authorize it, then call the handler;
    a `BadRequest` raised anywhere becomes the vendor's error.
    """

    limiter: RateLimiter | None = None

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # by route name ("unknown" for no route)
        self._count_lock = threading.Lock()
        self._routes: Sequence[Route] | None = None

    # -- what a vendor app gives ------------------------------------------------------------------
    def routes(self) -> Sequence[Route]:
        raise NotImplementedError

    def error(self, status: int, key: str, message: str, details: Any = None) -> EmulatorResponse:
        """The vendor's error body; the default is a plain `{"error": {...}}`."""
        body: dict[str, Any] = {"code": status, "key": key, "message": message}
        if details is not None:
            body["details"] = details
        return EmulatorResponse.of_json({"error": body}, status=status)

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        """None to let the request through, else the vendor's refusal (401/403)."""
        return None

    def throttled(self) -> EmulatorResponse:
        return self.error(429, "rate_limited", "Too many requests")

    def not_found(self, request: EmulatorRequest) -> EmulatorResponse:
        return self.error(404, "not_found", f"no such resource: {request.path}")

    def method_not_allowed(self, request: EmulatorRequest) -> EmulatorResponse:
        return self.error(405, "method_not_allowed", f"{request.method} is not allowed here")

    # -- the request cycle --------------------------------------------------------------------------
    def _route(self, request: EmulatorRequest) -> tuple[Route | None, dict[str, str], bool]:
        if self._routes is None:
            self._routes = list(self.routes())
        path_matched = False
        for route in self._routes:
            groups = route.match(request.path)
            if groups is None:
                continue
            path_matched = True
            if route.method == request.method:
                return route, groups, True
        return None, {}, path_matched

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        route, groups, path_matched = self._route(request)
        with self._count_lock:
            self.requests[route.name if route else "unknown"] += 1
        if self.limiter is not None and not self.limiter.admit():
            return self.throttled()
        if route is None:
            return self.method_not_allowed(request) if path_matched else self.not_found(request)
        try:
            refused = self.authorize(request, route) if route.scope is not None else None
            if refused is not None:
                return refused
            return route.handler(request, **groups)
        except BadRequest as problem:
            return self.error(problem.status, problem.key, problem.message, problem.details)


def int_arg(
    request: EmulatorRequest | Mapping[str, Any], name: str, default: int, low: int, high: int | None = None
) -> int:
    """An integer query parameter (or body value) within bounds; a `BadRequest` otherwise."""
    raw = request.arg(name) if isinstance(request, EmulatorRequest) else request.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
        if isinstance(raw, bool) or (isinstance(raw, float) and raw != value):
            raise ValueError(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an integer", key="invalid_parameter") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{name} must be {bound}", key="invalid_parameter")
    return value
