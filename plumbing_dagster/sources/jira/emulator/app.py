"""An emulator of the Jira Data Center 10.3 REST API (seed 002), faithful to `vendor-apis.md` and
Atlassian's OpenAPI document, over `JiraWorld` (the data, `world.py`).

Served under `[context_path]/rest/api/2` (and its alias `/rest/api/latest`):
`GET myself`, `GET serverInfo` (also anonymous), `POST|GET search`, `GET issue/{idOrKey}`,
`GET field`, `GET project`, `GET project/{idOrKey}`. What Cloud has and Data Center has not —
`search/jql`, `project/search`, `issue/{key}/changelog` — is a 404, as on Data Center.

Auth is a personal access token as `Authorization: Bearer <pat>`, acting as `pat_user`. Anything
else — a wrong token, no header, the token as a Basic-auth password — is a 401 with an HTML body
(never JSON) and `X-Seraph-LoginReason: AUTHENTICATED_FAILED`; after `captcha_after` failed
logins it says `AUTHENTICATION_DENIED` (CAPTCHA), which retrying only prolongs. Every response
carries `X-AREQUESTID` and `X-AUSERNAME`; with `rate_limit` every response to the user carries the
`X-RateLimit-*` headers and `Retry-After` (0 while tokens remain), and an empty bucket is a 429.

Search follows Data Center: `maxResults` above `max_results_cap` is lowered (read it back),
`startAt + maxResults` beyond `search_window` is a 500 "search limit exceeded", and with
`truncate_changelog` a search's changelog holds only the last `changelog_limit` histories while
`total` counts all of them (get-issue always has them all). Errors are
`{"errorMessages": [...], "errors": {...}}`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from plumbing_dagster.kit.emulator import (
    BadRequest,
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    Route,
    bearer_token,
    same_secret,
)
from plumbing_dagster.sources.jira.emulator.catalog import BASE, SERVICE_ACCOUNT, USER_BY_NAME, USERS, User
from plumbing_dagster.sources.jira.emulator.resources import Resources
from plumbing_dagster.sources.jira.emulator.search import SearchRequest, render_search
from plumbing_dagster.sources.jira.emulator.world import JiraWorld

SANDBOX_PAT = "sandbox-jira-pat"  # only this emulator accepts it
API_PATH = "/rest/api/(?:2|latest)"
DEFAULT_CHANGELOG_LIMIT = 20
_UNAUTHORIZED_HTML = (
    "<html><head><title>Unauthorized (401)</title></head><body><h1>Unauthorized (401)</h1>"
    "<p>Basic Authentication Failure - Reason : {reason}</p></body></html>"
)


@dataclass(frozen=True)
class RateLimit:
    """Data Center's per-user token bucket: `capacity` requests in a burst (`X-RateLimit-Limit`),
    refilled by `fill_rate` tokens every `interval_seconds`."""

    capacity: int = 20
    fill_rate: int = 10
    interval_seconds: int = 1


class _Bucket:
    def __init__(self, limit: RateLimit, clock: Callable[[], float]):
        self.limit, self.clock = limit, clock
        self.tokens = float(limit.capacity)
        self.last = clock()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, int, int]:
        """(admitted, tokens remaining, seconds until the next token when refused)."""
        with self.lock:
            now = self.clock()
            rate = self.limit.fill_rate / self.limit.interval_seconds
            self.tokens = min(float(self.limit.capacity), self.tokens + (now - self.last) * rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True, int(self.tokens), 0
            return False, 0, max(1, math.ceil((1 - self.tokens) / rate))


class JiraEmulator(EmulatorApp):
    """Jira Data Center's REST API v2 over `world`. Ask `world` what it must serve."""

    def __init__(
        self,
        world: JiraWorld | None = None,
        *,
        pat: str = SANDBOX_PAT,
        pat_user: str = SERVICE_ACCOUNT.name,
        rate_limit: RateLimit | None = None,
        max_results_cap: int = 1000,
        search_window: int = 10_000,
        truncate_changelog: bool = False,
        changelog_limit: int = DEFAULT_CHANGELOG_LIMIT,
        context_path: str = "",
        captcha_after: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`world`: the data (default: the sandbox's, on the real clock). `pat_user`: the world
        user the token belongs to (its `timeZone` is the zone quoted JQL dates are read in).
        `clock`: seconds, for the rate limiter's bucket (tests move it by hand)."""
        super().__init__()
        if pat_user not in USER_BY_NAME:
            raise ValueError(f"pat_user must be one of the world's users: {sorted(USER_BY_NAME)}")
        if context_path and (not context_path.startswith("/") or context_path.endswith("/")):
            raise ValueError("context_path looks like '/jira' (leading slash, none at the end)")
        self.world = world if world is not None else JiraWorld()
        self.pat = pat
        self.user: User = USERS[USER_BY_NAME[pat_user]]
        self.rate_limit = rate_limit
        self.max_results_cap = max_results_cap
        self.search_window = search_window
        self.changelog_limit = changelog_limit if truncate_changelog else None
        self.context_path = context_path
        self.captcha_after = captcha_after
        self.failed_logins = 0  # wrong credentials seen (missing ones are not a login attempt)
        self.throttled_requests = 0
        self._bucket = _Bucket(rate_limit, clock) if rate_limit is not None else None
        self._lock = threading.Lock()
        self._request_count = 0
        self._current = threading.local()  # who the request in this thread is, its rate headers
        self._resources = Resources(self)

    # -- the EmulatorApp hooks ----------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        api = self.context_path + API_PATH
        r = self._resources
        return [
            Route("GET", api + "/myself", r.myself, "myself"),
            Route("GET", api + "/serverInfo", r.server_info, "serverInfo"),
            Route("POST", api + "/search", self._search, "search"),
            Route("GET", api + "/search", self._search, "search"),
            Route("GET", api + "/issue/(?P<id_or_key>[^/]+)", r.issue, "issue"),
            Route("GET", api + "/field", r.fields, "field"),
            Route("GET", api + "/project", r.projects, "project"),
            Route("GET", api + "/project/(?P<id_or_key>[^/]+)", r.project, "project"),
        ]

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        # Seraph identifies the caller before any resource is chosen (so a 404 names the user too).
        authenticated = same_secret(bearer_token(request.header("authorization")), self.pat)
        self._current.user = self.user if authenticated else None
        self._current.limit_headers = {}
        response = super().handle(request)
        with self._lock:
            self._request_count += 1
            count = self._request_count
        minute = self.world.now.hour * 60 + self.world.now.minute
        response.headers["X-AREQUESTID"] = f"{minute}x{count}x1"
        user = self._current.user
        response.headers["X-AUSERNAME"] = user.name if user is not None else "anonymous"
        response.headers.update(self._current.limit_headers)
        base = self.base_url(request)
        if BASE.encode() in response.body:
            response.body = response.body.replace(BASE.encode(), base.encode())
        for name, value in response.headers.items():
            response.headers[name] = value.replace(BASE, base)
        return response

    def base_url(self, request: EmulatorRequest) -> str:
        """The instance's base URL as the client reached it (`self` links point back here)."""
        return f"http://{request.header('host') or '127.0.0.1'}{self.context_path}"

    def error(self, status: int, key: str, message: str, details: Any = None) -> EmulatorResponse:
        """Jira's ErrorCollection; `details` are the per-field `errors`."""
        return EmulatorResponse.of_json(
            {"errorMessages": [message], "errors": dict(details or {})}, status=status
        )

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        header = request.header("authorization")
        if header is None and route.name == "serverInfo":
            return None  # readable anonymously, as on Data Center
        if self._current.user is None:
            # Basic auth with the PAT as password is refused too: a PAT is a bearer token only.
            return self._unauthorized(counted=header is not None)
        if self._bucket is not None:
            admitted, remaining, retry_after = self._bucket.take()
            limit = self._bucket.limit
            self._current.limit_headers = {
                "X-RateLimit-Limit": str(limit.capacity),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Interval-Seconds": str(limit.interval_seconds),
                "X-RateLimit-FillRate": str(limit.fill_rate),
                "Retry-After": str(retry_after),
            }
            if not admitted:
                with self._lock:
                    self.throttled_requests += 1
                return self.throttled(retry_after)
        return None

    def throttled(self, retry_after: int = 1) -> EmulatorResponse:
        response = self.error(429, "rate_limited", "Rate limit exceeded. Try again later.")
        response.headers["Retry-After"] = str(retry_after)
        return response

    def not_found(self, request: EmulatorRequest) -> EmulatorResponse:
        # Jersey's answer for a path no resource serves, as Data Center words it.
        return self.error(
            404,
            "not_found",
            f"null for uri: {self.base_url(request)}{request.path[len(self.context_path) :]}",
        )

    def method_not_allowed(self, request: EmulatorRequest) -> EmulatorResponse:
        return self.error(
            405, "method_not_allowed", f"Method {request.method} is not allowed for this resource."
        )

    def _unauthorized(self, *, counted: bool) -> EmulatorResponse:
        with self._lock:
            if counted:
                self.failed_logins += 1
            denied = self.captcha_after is not None and self.failed_logins > self.captcha_after
        reason = "AUTHENTICATION_DENIED" if denied else "AUTHENTICATED_FAILED"
        headers = {"Content-Type": "text/html;charset=UTF-8", "X-Seraph-LoginReason": reason}
        if denied:
            headers["X-Authentication-Denied-Reason"] = f"CAPTCHA_CHALLENGE; login-url={BASE}/login.jsp"
        return EmulatorResponse(401, _UNAUTHORIZED_HTML.format(reason=reason).encode(), headers)

    # -- search ---------------------------------------------------------------------------------------

    def _search(self, request: EmulatorRequest) -> EmulatorResponse:
        search = SearchRequest.of(request, default_max=50)
        if search.max_results > self.max_results_cap:
            search = search.lowered(self.max_results_cap)  # read back in the response
        now = self.world.now_ms()
        query = search.compile(self.world, self.user.time_zone, now)
        if search.start_at + search.max_results > self.search_window:
            raise BadRequest(
                f"Search limit exceeded: startAt + maxResults ({search.start_at + search.max_results}) is "
                f"beyond the maximum result window of {self.search_window} "
                "(jira.search.platform.max.result.window). Narrow the query instead of paging deeper.",
                status=500,
            )
        body = render_search(self.world, search, query, now, self.changelog_limit, self.user.time_zone)
        return EmulatorResponse(200, body.encode("utf-8"), {"Content-Type": "application/json;charset=UTF-8"})
