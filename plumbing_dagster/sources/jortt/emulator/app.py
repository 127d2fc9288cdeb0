"""An emulator of the Jortt API (seed 000), faithful to `vendor-apis.md` and Jortt's Swagger file,
over `JorttWorld` (the data, `world.py`).

What it serves: the OAuth client-credentials token endpoint (HTTP Basic, `grant_type`, scopes,
7200 s tokens), and under `/v1/...` and the unversioned aliases: customers (filter `query`),
invoices (filters `query`, `invoice_status`), projects (10 a page), a project's line items
(`start_date` inclusive, `end_date` exclusive on the line item `date`, `status_filter`) and
`organizations/me`. Lists use Jortt's envelope `{"data": [...], "_links": {"previous", "next",
"self", "documentation"}}` with absolute links (100 a page); errors use Jortt's
`{"error": {"code", "key", "message", "details"}}`, except at the token endpoint, a standard
OAuth 2.0 server (RFC 6749 errors `{"error", "error_description"}`).

At most 10 requests a second (Jortt's documented limit), else 429 `request.throttled`; the
limiter sits in front of the API, so it throttles before routing and auth. The token endpoint is
Jortt's OAuth provider, a different host (`app.jortt.nl`): not throttled, not in `api_requests`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from plumbing_dagster.kit.emulator import (
    BadRequest,
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    RateLimiter,
    Route,
    TokenIssuer,
    basic_credentials,
    bearer_token,
    same_secret,
)
from plumbing_dagster.sources.jortt.emulator.billing import LINE_ITEM_STATUSES
from plumbing_dagster.sources.jortt.emulator.world import JorttWorld

TOKEN_PATH = "/oauth-provider/oauth/token"
PAGE_SIZE = 100
PROJECTS_PAGE_SIZE = 10
TOKEN_LIFETIME = 7200
DEFAULT_RATE_LIMIT = 10  # requests per second, Jortt's documented limit
# Scopes the sandbox OAuth application is registered with.
APP_SCOPES = frozenset(
    {
        "customers:read",
        "customers:write",
        "invoices:read",
        "invoices:write",
        "organizations:read",
        "reports:read",
    }
)
DOCUMENTATION_LINK = {"href": "https://developer.jortt.nl/#pagination", "type": "text/html"}
INVOICE_STATUS_FILTERS = ("sent", "draft", "unpaid", "late", "paid")
NOT_VALID = ("does_not_have_a_valid_value", "does not have a valid value")
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
V1 = "(?:/v1)?"  # the unversioned paths are aliases of /v1/...

# Jortt's own messages for the error keys the emulator uses (from the API documentation).
ERROR_MESSAGES = {
    "access_token.invalid": "The access_token is either missing or invalid.",
    "access_token.expired": "The access_token has expired.",
    "scopes.insufficient": "Insufficient permissions (read: missing scopes) to access resource.",
    "endpoint.not_found": "Invalid or non existing endpoint.",
    "resource.not_found": "Requested resource cannot be found.",
    "resource.method_not_allowed": "The method is not allowed on this resource.",
    "params.invalid": "The parameters are invalid (either missing, not of the correct type or "
    "incorrect format).",
    "request.throttled": "The request has been throttled, please try again later.",
}
TOKEN_PROBLEMS = {  # TokenIssuer.check's answer -> Jortt's 401 key
    "invalid": "access_token.invalid",
    "expired": "access_token.expired",
    "insufficient_scope": "scopes.insufficient",
}


def invalid(param: str, key: str, message: str) -> BadRequest:
    """A query parameter Jortt rejects with 422 `params.invalid`."""
    detail = {"param": param, "key": key, "message": message}
    return BadRequest(f"{param} {message}", status=422, key="params.invalid", details=[detail])


def oauth_error(status: int, error: str, description: str) -> EmulatorResponse:
    # The token endpoint is a standard OAuth 2.0 server (RFC 6749 §5.2), not the Jortt API.
    return EmulatorResponse.of_json({"error": error, "error_description": description}, status=status)


class JorttEmulator(EmulatorApp):
    """The Jortt API and its OAuth token endpoint. Ask `world` what it must serve."""

    def __init__(
        self,
        seed: int = 11,
        start_date: date = date(2026, 1, 1),
        now: datetime | None = None,
        client_id: str = "sandbox-jortt-client",
        client_secret: str = "sandbox-jortt-secret",
        invoices_per_day: int = 30,
        customers: int = 60,
        projects: int = 25,
        *,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        clock: Callable[[], float] = time.time,
    ):
        """`rate_limit`: requests per second before 429 `request.throttled` (None: no limit).
        `clock`: seconds, for token lifetimes (tests move it to expire tokens)."""
        super().__init__()
        self.world = JorttWorld(seed, start_date, now, invoices_per_day, customers, projects)
        self.client_id = client_id
        self.client_secret = client_secret
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self.tokens = TokenIssuer("jortt", seed, TOKEN_LIFETIME, clock)
        self.token_requests = 0  # every call of the token endpoint, successful or not
        self._token_lock = threading.Lock()

    @property
    def api_requests(self) -> Counter[str]:
        """API requests by route: customers, invoices, projects, line_items, organizations, unknown."""
        return self.requests

    def expire_tokens(self) -> None:
        """Make every token issued so far expired (401 `access_token.expired`)."""
        self.tokens.expire_all()

    # -- the EmulatorApp hooks ----------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        if request.path == TOKEN_PATH:  # the OAuth provider, not behind the API's limiter
            return self._token_endpoint(request)
        return super().handle(request)

    def routes(self) -> Sequence[Route]:
        return [
            Route("GET", V1 + "/customers", self._get_customers, "customers", "customers:read"),
            Route("GET", V1 + "/invoices", self._get_invoices, "invoices", "invoices:read"),
            Route("GET", V1 + "/projects", self._get_projects, "projects", "invoices:read"),
            Route(
                "GET",
                V1 + "/projects/(?P<project_id>[^/]+)/line_items",
                self._get_line_items,
                "line_items",
                "invoices:read",
            ),
            Route(
                "GET", V1 + "/organizations/me", self._get_organization, "organizations", "organizations:read"
            ),
        ]

    def error(self, status: int, key: str, message: str = "", details: Any = None) -> EmulatorResponse:
        """Jortt's error, with Jortt's own message for the keys it documents."""
        body = {
            "code": status,
            "key": key,
            "message": ERROR_MESSAGES.get(key, message),
            "details": list(details or ()),
        }
        return EmulatorResponse.of_json({"error": body}, status=status)

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        problem = self.tokens.check(bearer_token(request.header("authorization")), route.scope)
        return None if problem is None else self.error(401, TOKEN_PROBLEMS[problem])

    def throttled(self) -> EmulatorResponse:
        response = self.error(429, "request.throttled")
        # Jortt does not document Retry-After; clients must cope without it (backoff).
        response.headers["Retry-After"] = "1"
        return response

    def not_found(self, request: EmulatorRequest) -> EmulatorResponse:
        return self.error(404, "endpoint.not_found")

    def method_not_allowed(self, request: EmulatorRequest) -> EmulatorResponse:
        return self.error(405, "resource.method_not_allowed")

    # -- OAuth ----------------------------------------------------------------------------------------

    def _token_endpoint(self, request: EmulatorRequest) -> EmulatorResponse:
        with self._token_lock:
            self.token_requests += 1
        if request.method != "POST":
            return oauth_error(405, "invalid_request", "The token endpoint only accepts POST.")
        credentials = basic_credentials(request.header("authorization"))
        if credentials is None or not (
            same_secret(credentials[0], self.client_id) and same_secret(credentials[1], self.client_secret)
        ):
            return oauth_error(
                401,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication "
                "included, or unsupported authentication method.",
            )
        form = request.form()
        if form.get("grant_type") != "client_credentials":
            return oauth_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        requested = form.get("scope", "").split()
        if any(scope not in APP_SCOPES for scope in requested):
            return oauth_error(400, "invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        scopes = tuple(requested) or tuple(sorted(APP_SCOPES))
        token, grant = self.tokens.issue(scopes)
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(scopes),
            "created_at": int(grant.issued_at),
        }
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
        return EmulatorResponse.of_json(body, headers=no_store)

    # -- endpoints ------------------------------------------------------------------------------------

    def _get_customers(self, request: EmulatorRequest) -> EmulatorResponse:
        customers = self.world.listed_customers(_search_query(request))
        return self._paged(request, customers, PAGE_SIZE, lambda record: record)

    def _get_invoices(self, request: EmulatorRequest) -> EmulatorResponse:
        now = self.world.now
        status = request.arg("invoice_status") or None
        if status is not None and status not in INVOICE_STATUS_FILTERS:
            raise invalid("invoice_status", *NOT_VALID)
        invoices = self.world.listed_invoices(now, status, _search_query(request))
        return self._paged(request, invoices, PAGE_SIZE, lambda inv: self.world.render_invoice(inv, now))

    def _get_projects(self, request: EmulatorRequest) -> EmulatorResponse:
        now = self.world.now
        projects = self.world.listed_projects(now)
        return self._paged(request, projects, PROJECTS_PAGE_SIZE, lambda p: self.world.render_project(p, now))

    def _get_line_items(self, request: EmulatorRequest, project_id: str) -> EmulatorResponse:
        if not UUID_PATTERN.match(project_id):
            raise invalid("id", "is_invalid", "is invalid")
        now = self.world.now
        if self.world.project(project_id, now) is None:
            return self.error(404, "resource.not_found")
        start, end = _date_arg(request, "start_date"), _date_arg(request, "end_date")
        status = request.arg("status_filter") or None
        if status is not None and status not in LINE_ITEM_STATUSES:
            raise invalid("status_filter", *NOT_VALID)
        items = self.world.listed_line_items(project_id, start, end, status, now)
        return self._paged(request, items, PAGE_SIZE, lambda item: self.world.render_line_item(item, now))

    def _get_organization(self, request: EmulatorRequest) -> EmulatorResponse:
        return EmulatorResponse.of_json({"data": self.world.organization()})

    def _paged(
        self,
        request: EmulatorRequest,
        items: Sequence[Any],
        size: int,
        render: Callable[[Any], dict[str, Any]],
    ) -> EmulatorResponse:
        raw_page = request.arg("page") or "1"
        if not (raw_page.isascii() and raw_page.isdigit()) or int(raw_page) < 1:
            raise invalid("page", "is_invalid", "is invalid")
        page = int(raw_page)
        chunk = items[(page - 1) * size : page * size]
        # Absolute links on the host the client called, keeping its filters (Jortt does the same).
        base = f"http://{request.header('host') or '127.0.0.1'}{request.path}"
        kept = [(k, v) for k, values in request.query.items() if k != "page" for v in values if v]

        def link(number: int) -> dict[str, str]:
            href = f"{base}?{urlencode([*kept, ('page', number)])}"
            return {"href": href, "type": "application/json"}

        links = {
            "previous": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page * size < len(items) else None,
            "self": link(page),
            "documentation": DOCUMENTATION_LINK,
        }
        return EmulatorResponse.of_json({"data": [render(item) for item in chunk], "_links": links})


def _search_query(request: EmulatorRequest) -> str | None:
    query = (request.arg("query") or "").strip()
    if query and len(query) < 3:  # an empty `query=` is accepted, as Jortt's own client sends it
        raise invalid("query", "is_too_short", "must be at least 3 characters")
    return query.lower() or None


def _date_arg(request: EmulatorRequest, name: str) -> date | None:
    raw = request.arg(name)
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise invalid(name, "is_invalid", "is invalid")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "is_invalid", "is invalid") from None
