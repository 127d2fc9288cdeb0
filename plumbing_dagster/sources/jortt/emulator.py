"""An emulator of the Jortt API (seed 000), faithful to `vendor-apis.md` and Jortt's Swagger file.

What it serves: the OAuth client-credentials token endpoint (HTTP Basic, `grant_type`, scopes,
7200 s tokens), and under `/v1/...` and the unversioned aliases: customers, invoices (filters
`query`, `invoice_status`), projects (10 a page), a project's line items (`start_date` inclusive,
`end_date` exclusive on the line item `date`, `status_filter`) and `organizations/me`. Lists use
Jortt's envelope `{"data": [...], "_links": {"previous", "next", "self", "documentation"}}` with
absolute links; errors use Jortt's `{"error": {"code", "key", "message", "details"}}`.

The data is a pure function of the constructor arguments and the clock: invoices every day from
`start_date`, customers and projects created over time, time registrations on working days. Tests
ask the emulator what the API must have served (`invoices_created_between`, `customers`,
`projects`, `line_items`) and compare. Generation uses `random.Random` seeded from SHA-256 digests
(Python's `hash` is salted per process) and is cached per day.

Where Jortt's document and the recorded responses disagree, the emulator follows the responses:
amounts are decimal strings (`{"value": "10.10", "currency": "EUR"}`), unset fields are `null`,
and a line item's `date` is a calendar date (`2026-01-05`; the document's date-time example is the
one pasted on every timestamp, and the filters on it are dates).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import logging
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from plumbing_dagster.sources.emulator import EmulatorRequest, EmulatorResponse

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
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
LINE_ITEM_STATUSES = ("billable", "invoiced", "concept", "nonbillable")
NOT_VALID = ("does_not_have_a_valid_value", "does not have a valid value")
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

CUSTOMER_GROWTH_DAYS = 120  # customers beyond the first third join over this many days
PROJECT_GROWTH_DAYS = 150  # projects beyond the first half start over this many days
LINE_ITEM_IDS_PER_DAY = 10_000  # line_item_id = day number * this + sequence within the day
CENT = Decimal("0.01")

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

_FIRST_NAMES = (
    "Anna",
    "Bram",
    "Daan",
    "Eva",
    "Fleur",
    "Jesse",
    "Julia",
    "Lars",
    "Lotte",
    "Milan",
    "Noor",
    "Ruben",
    "Sanne",
    "Sem",
    "Tess",
    "Thijs",
)
_LAST_NAMES = (
    "Bakker",
    "Bos",
    "de Boer",
    "de Jong",
    "de Vries",
    "Dekker",
    "Jansen",
    "Meijer",
    "Mulder",
    "Peters",
    "Smit",
    "van Dijk",
    "van den Berg",
    "Visser",
    "Vos",
    "Willems",
)
_TRADES = (
    "Installatietechniek",
    "Schilderwerken",
    "Dakdekkers",
    "Adviesgroep",
    "Bouw",
    "Media",
    "Catering",
    "Webdesign",
    "Tuinen",
    "Administratie",
)
_LEGAL_SUFFIXES = ("B.V.", "B.V.", "V.O.F.", "", "& Zn.")
_PLACES = (  # (city, country code, country name, postal code format)
    ("Amsterdam", "NL", "Nederland", "10{:02d} {}"),
    ("Utrecht", "NL", "Nederland", "35{:02d} {}"),
    ("Rotterdam", "NL", "Nederland", "30{:02d} {}"),
    ("Haarlem", "NL", "Nederland", "20{:02d} {}"),
    ("Eindhoven", "NL", "Nederland", "56{:02d} {}"),
    ("Groningen", "NL", "Nederland", "97{:02d} {}"),
    ("Zwolle", "NL", "Nederland", "80{:02d} {}"),
    ("Den Haag", "NL", "Nederland", "25{:02d} {}"),
    ("Antwerpen", "BE", "België", "20{:02d}"),
    ("Düsseldorf", "DE", "Duitsland", "402{:02d}"),
)
_STREETS = ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Rozengracht", "Molenweg", "Industrieweg")
_PROJECT_TOPICS = (
    "Website redesign",
    "Onderhoudscontract",
    "Badkamerrenovatie",
    "Jaarrekening",
    "Logo ontwerp",
    "Nieuwbouw keuken",
    "Adviestraject",
    "Fotoshoot",
    "Marketingcampagne",
    "Dakrenovatie",
)
_TASKS = (
    "Overleg met klant",
    "Ontwerp",
    "Uitvoering",
    "Voorbereiding",
    "Projectleiding",
    "Montage",
)
_COSTS = ("Reiskosten", "Materiaal", "Parkeerkosten", "Drukwerk")
_INVOICE_LINES = (
    "Arbeid",
    "Voorrijkosten",
    "Materiaal",
    "Advies per uur",
    "Licentie",
    "Ontwerpwerk",
)


def derive_seed(*parts: object) -> int:
    """A seed from `parts` that is stable across processes (Python's `hash` is salted per run)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _money(value: Decimal) -> dict[str, str]:
    return {"value": f"{value.quantize(CENT, ROUND_HALF_UP)}", "currency": "EUR"}


def _iso_seconds(moment: datetime) -> str:
    # As in Jortt's recorded invoices: local time with its offset, `2020-09-22T15:31:23+02:00`.
    return moment.astimezone(AMSTERDAM).isoformat(timespec="seconds")


def _iso_millis(moment: datetime) -> str:
    # As in Jortt's document for projects and line items: `2020-02-23T00:00:00.000+01:00`.
    return moment.astimezone(AMSTERDAM).isoformat(timespec="milliseconds")


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class InvalidParam(ValueError):
    """A query parameter Jortt rejects with 422 `params.invalid`."""

    def __init__(self, param: str, key: str, message: str):
        super().__init__(f"{param} {message}")
        self.detail = {"param": param, "key": key, "message": message}


def jortt_error(status: int, key: str, details: Sequence[dict[str, str]] = ()) -> EmulatorResponse:
    error = {"code": status, "key": key, "message": ERROR_MESSAGES[key], "details": list(details)}
    return EmulatorResponse.of_json({"error": error}, status=status)


def oauth_error(status: int, error: str, description: str) -> EmulatorResponse:
    # The token endpoint is a standard OAuth 2.0 server (RFC 6749 §5.2), not the Jortt API.
    body = {"error": error, "error_description": description}
    return EmulatorResponse.of_json(body, status=status)


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


@dataclass
class _Grant:
    scopes: frozenset[str]
    issued_at: float
    expires_in: int
    expired: bool = False  # by expire_tokens(), before its time


@dataclass(frozen=True)
class _Customer:
    record: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class _Project:
    index: int
    record: dict[str, Any]  # without the fields that change with the clock
    created_at: datetime
    edits: tuple[datetime, ...]
    archive_at: datetime | None
    hourly_rate: Decimal

    @property
    def aggregate_id(self) -> str:
        return self.record["aggregate_id"]

    def active_on(self, day: date) -> bool:
        start = _utc_midnight(day)
        return self.created_at < start and (self.archive_at is None or self.archive_at > start)


@dataclass(frozen=True)
class _Invoice:
    record: dict[str, Any]  # without invoice_number and invoice_due_amount
    created_at: datetime
    sent: bool
    due_date: date | None
    paid_on: date | None
    total_incl_vat: Decimal


@dataclass(frozen=True)
class _LineItem:
    record: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    day: date
    minutes: int
    total: Decimal


class JorttEmulator:
    """The Jortt API and its OAuth token endpoint, over deterministic data."""

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
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware (UTC)")
        if customers < 1 or projects < 1 or invoices_per_day < 0:
            raise ValueError("need a customer and a project at least, and invoices_per_day >= 0")
        self.seed = seed
        self.start_date = start_date
        self.invoices_per_day = invoices_per_day
        self.client_id = client_id
        self.client_secret = client_secret
        self._fixed_now = now
        self._clock = clock
        self._limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self._lock = threading.RLock()
        self._grants: dict[str, _Grant] = {}
        self.token_requests = 0  # every call of the token endpoint, successful or not
        self.api_requests: Counter[str] = Counter()  # by route: customers, invoices, ...
        self._organization, self._users = self._make_organization()
        self._customers = self._make_customers(customers)
        self._projects = self._make_projects(projects)
        self._project_by_id = {p.aggregate_id: p for p in self._projects}
        ledger_rng = self._rng("ledger_accounts")
        self._ledger_accounts = [_uuid(ledger_rng) for _ in range(3)]
        # Per-day caches; a day's data never changes, only what the clock lets through.
        self._invoice_days: dict[date, list[_Invoice]] = {}
        self._line_item_days: dict[date, dict[str, list[_LineItem]]] = {}
        self._invoice_numbers: dict[tuple[int, int], dict[str, str]] = {}

    # -- clock --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The data horizon: fixed when given, else the real time (the data grows with it)."""
        return self._fixed_now or datetime.now(UTC)

    def expire_tokens(self) -> None:
        """Make every token issued so far expired (401 `access_token.expired`)."""
        with self._lock:
            for grant in self._grants.values():
                grant.expired = True

    # -- public views for tests ---------------------------------------------------------------

    def customers(self) -> list[dict[str, Any]]:
        """The customers the API lists now, in its order (by `customer_name`)."""
        return copy.deepcopy(self._visible_customers())

    def invoices_created_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Invoices with `start <= created_at < end` (aware datetimes), oldest first."""
        now = self.now
        found = [
            invoice
            for day in _days(start.astimezone(UTC).date(), end.astimezone(UTC).date())
            for invoice in self._invoices_of_day(day)
            if start <= invoice.created_at < end and invoice.created_at <= now
        ]
        return copy.deepcopy([self._render_invoice(invoice, now) for invoice in found])

    def projects(self) -> list[dict[str, Any]]:
        """The projects the API lists now, in its order (by creation)."""
        now = self.now
        return copy.deepcopy([self._render_project(p, now) for p in self._visible_projects(now)])

    def line_items(
        self, project_id: str, start_date: date | None = None, end_date: date | None = None
    ) -> list[dict[str, Any]]:
        """A project's line items with `start_date <= date < end_date`, as the API lists them."""
        now = self.now
        items = self._line_items_for(project_id, start_date, end_date, None, now)
        return copy.deepcopy([self._render_line_item(item, now) for item in items])

    def organization(self) -> dict[str, Any]:
        return copy.deepcopy(self._organization)

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, request: EmulatorRequest) -> EmulatorResponse:
        if request.path == TOKEN_PATH:
            return self._token_endpoint(request)
        path = request.path[3:] if request.path.startswith("/v1/") else request.path
        route = self._route(path)
        with self._lock:
            self.api_requests[route[0] if route else "unknown"] += 1
        # Throttling comes before routing and auth, as a rate limiter in front of the app does.
        if self._limiter is not None and not self._limiter.admit():
            response = jortt_error(429, "request.throttled")
            # Jortt does not document Retry-After; clients must cope without it (backoff).
            response.headers["Retry-After"] = "1"
            return response
        if route is None:
            return jortt_error(404, "endpoint.not_found")
        _, scope, handler, args = route
        if request.method != "GET":
            return jortt_error(405, "resource.method_not_allowed")
        denied = self._check_token(request, scope)
        if denied is not None:
            return denied
        try:
            return handler(request, *args)
        except InvalidParam as exc:
            return jortt_error(422, "params.invalid", [exc.detail])

    def _route(self, path: str) -> tuple[str, str, Callable[..., EmulatorResponse], tuple[str, ...]] | None:
        if path == "/customers":
            return "customers", "customers:read", self._get_customers, ()
        if path == "/invoices":
            return "invoices", "invoices:read", self._get_invoices, ()
        if path == "/projects":
            return "projects", "invoices:read", self._get_projects, ()
        if path == "/organizations/me":
            return "organizations", "organizations:read", self._get_organization, ()
        match = re.fullmatch(r"/projects/([^/]+)/line_items", path)
        if match:
            return "line_items", "invoices:read", self._get_line_items, (match.group(1),)
        return None

    # -- OAuth --------------------------------------------------------------------------------

    def _token_endpoint(self, request: EmulatorRequest) -> EmulatorResponse:
        with self._lock:
            self.token_requests += 1
        if request.method != "POST":
            return oauth_error(405, "invalid_request", "The token endpoint only accepts POST.")
        if not self._client_authenticated(request.header("authorization")):
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
        with self._lock:
            number = len(self._grants)
            rng = self._rng("token", number)
            token = base64.urlsafe_b64encode(rng.randbytes(32)).decode("ascii").rstrip("=")
            issued_at = self._clock()
            self._grants[token] = _Grant(frozenset(scopes), issued_at, TOKEN_LIFETIME)
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "scope": " ".join(scopes),
            "created_at": int(issued_at),
        }
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
        return EmulatorResponse.of_json(body, headers=no_store)

    def _client_authenticated(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return False
        client_id, _, client_secret = decoded.partition(":")
        return hmac.compare_digest(client_id, self.client_id) and hmac.compare_digest(
            client_secret, self.client_secret
        )

    def _check_token(self, request: EmulatorRequest, scope: str) -> EmulatorResponse | None:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        with self._lock:
            grant = self._grants.get(token.strip()) if scheme.lower() == "bearer" else None
            if grant is None:
                return jortt_error(401, "access_token.invalid")
            if grant.expired or self._clock() >= grant.issued_at + grant.expires_in:
                return jortt_error(401, "access_token.expired")
            if scope not in grant.scopes:
                return jortt_error(401, "scopes.insufficient")
        return None

    # -- endpoints ----------------------------------------------------------------------------

    def _get_customers(self, request: EmulatorRequest) -> EmulatorResponse:
        customers = self._visible_customers()
        query = _search_query(request)
        if query:
            customers = [
                c
                for c in customers
                if any(query in (c.get(f) or "").lower() for f in ("customer_name", "email"))
            ]
        return self._paged(request, customers, PAGE_SIZE, lambda record: record)

    def _get_invoices(self, request: EmulatorRequest) -> EmulatorResponse:
        now = self.now
        status = request.arg("invoice_status") or None
        if status is not None and status not in INVOICE_STATUS_FILTERS:
            raise InvalidParam("invoice_status", *NOT_VALID)
        query = _search_query(request)
        today = now.astimezone(AMSTERDAM).date()
        invoices = [
            invoice
            for day in reversed(self._data_days(now))
            for invoice in reversed(self._invoices_of_day(day))  # newest first, as Jortt lists them
            if invoice.created_at <= now
            and (status is None or _invoice_has_status(invoice, status, today))
            and (not query or _invoice_matches(invoice, self._invoice_number(invoice), query))
        ]
        return self._paged(request, invoices, PAGE_SIZE, lambda inv: self._render_invoice(inv, now))

    def _get_projects(self, request: EmulatorRequest) -> EmulatorResponse:
        now = self.now
        projects = self._visible_projects(now)
        return self._paged(request, projects, PROJECTS_PAGE_SIZE, lambda p: self._render_project(p, now))

    def _get_line_items(self, request: EmulatorRequest, project_id: str) -> EmulatorResponse:
        if not UUID_PATTERN.match(project_id):
            raise InvalidParam("id", "is_invalid", "is invalid")
        now = self.now
        project = self._project_by_id.get(project_id)
        if project is None or project.created_at > now:
            return jortt_error(404, "resource.not_found")
        start, end = _date_arg(request, "start_date"), _date_arg(request, "end_date")
        status = request.arg("status_filter") or None
        if status is not None and status not in LINE_ITEM_STATUSES:
            raise InvalidParam("status_filter", *NOT_VALID)
        items = self._line_items_for(project_id, start, end, status, now)
        return self._paged(request, items, PAGE_SIZE, lambda item: self._render_line_item(item, now))

    def _get_organization(self, request: EmulatorRequest) -> EmulatorResponse:
        return EmulatorResponse.of_json({"data": self._organization})

    def _paged(
        self,
        request: EmulatorRequest,
        items: Sequence[Any],
        size: int,
        render: Callable[[Any], dict[str, Any]],
    ) -> EmulatorResponse:
        raw_page = request.arg("page") or "1"
        if not (raw_page.isascii() and raw_page.isdigit()) or int(raw_page) < 1:
            raise InvalidParam("page", "is_invalid", "is invalid")
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

    # -- data: organization, customers, projects ----------------------------------------------

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(derive_seed("jortt", self.seed, *parts))

    def _data_days(self, now: datetime) -> list[date]:
        last = now.astimezone(AMSTERDAM).date()
        return _days(self.start_date, last) if last >= self.start_date else []

    def _make_organization(self) -> tuple[dict[str, Any], list[dict[str, str]]]:
        rng = self._rng("organization")
        organization_id = _uuid(rng)
        users = [
            {"id": _uuid(rng), "full_name": f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"}
            for _ in range(3)
        ]
        since = datetime.combine(self.start_date - timedelta(days=400), clock_time(10), AMSTERDAM)
        organization = {
            "id": organization_id,
            "vat_type": "vat",
            "company_name": "Sandbox Loodgieters B.V.",
            "company_name_line_2": None,
            "address_street": "Rozengracht 75a",
            "address_postal_code": "1012 AB",
            "address_city": "Amsterdam",
            "address_country_code": "NL",
            "address_country_name": "Nederland",
            "tax_registration_number": "NL999999999B01",
            "chamber_of_commerce_number": "12345678",
            "bank_account_iban": "NL10BANK0123456789",
            "bank_account_bban": "0123456789",
            "owners": [users[0]],
            "legal_form": "bv",
            "website": "https://sandbox-loodgieters.example",
            "phonenumber": "+31 20 1234567",
            "invoice_from_email": "facturen@sandbox-loodgieters.example",
            "one_stop_shop_enabled": False,
            "has_mollie": False,
            "jortt_start_date": since.isoformat(timespec="seconds"),
            "invoice_from_email_confirmed": True,
            "data_complete_for_sending_invoices": True,
            "default_vat": {"category": "standard", "value": "21.0"},
            "has_peppol_access": False,
        }
        return organization, users

    def _make_customers(self, count: int) -> list[_Customer]:
        rng = self._rng("customers")
        start = _utc_midnight(self.start_date)
        before_start = max(1, count // 3)  # the first invoices need customers
        customers = []
        for number in range(count):
            if number < before_start:
                created = start - timedelta(seconds=rng.randrange(1, 90 * 86_400))
            else:
                created = start + timedelta(seconds=rng.randrange(CUSTOMER_GROWTH_DAYS * 86_400))
            customers.append(_Customer(self._customer_record(rng), created))
        return sorted(customers, key=lambda c: c.created_at)

    def _customer_record(self, rng: random.Random) -> dict[str, Any]:
        is_private = rng.random() < 0.3
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        city, country, country_name, postal_format = rng.choice(_PLACES)
        foreign = country != "NL"
        if is_private:
            name = f"{first} {last}"
            slug = f"{first}.{last.replace(' ', '')}".lower()
        else:
            surname = last[0].upper() + last[1:]  # "Van den Berg", not "Van Den Berg"
            parts = (surname, rng.choice(_TRADES), rng.choice(_LEGAL_SUFFIXES))
            name = " ".join(part for part in parts if part)
            slug = re.sub(r"[^a-z]+", "-", name.lower()).strip("-")
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(2))
        postal = postal_format.format(rng.randrange(100), letters)
        language = {"NL": "nl", "BE": "nl", "DE": "de"}[country]
        return {
            "id": _uuid(rng),
            "is_private": is_private,
            "customer_name": name,
            "address_street": f"{rng.choice(_STREETS)} {rng.randrange(1, 200)}",
            "address_postal_code": postal,
            "address_city": city,
            "address_country_code": country,
            "address_country_name": country_name,
            "address_extra_information": None,
            "shift_vat": foreign and not is_private,  # intra-EU B2B: VAT reverse-charged
            "vat_number": None if is_private else f"{country}{rng.randrange(10**8, 10**9)}B01",
            "coc_number": None if is_private else f"{rng.randrange(10**7, 10**8)}",
            "initials": f"{first[0]}." if is_private else None,
            "first_name": first if is_private else None,
            "last_name": last if is_private else None,
            "date_of_birth": None,
            "citizen_service_number": None,
            "attn": None if is_private else rng.choice((None, "Financiële administratie")),
            "phonenumber": f"+316{rng.randrange(10**7, 10**8)}" if rng.random() < 0.6 else None,
            "website": None if is_private else f"https://{slug}.example",
            "email": f"{slug}@mail.example" if is_private else f"info@{slug}.example",
            "cc_emails": [],
            "email_salutation": "Geachte heer, mevrouw,",
            "additional_information": None,
            "payment_term": rng.choice((14, 30, 30, 30)),
            "invoice_language": language,
            "payment_method_invoice": "pay_later",
            "reference": None,
            "mollie_direct_debit_status": None,
            "mollie_customer_id": None,
            "mollie_mandate_id": None,
            "default_ledger_account_id": None,
            "archived": rng.random() < 0.05,
            "default_label_id": None,
            "default_discount_description": None,
            "default_discount_percentage": None,
            "peppol_scheme_code": None,
            "peppol_identifier": None,
        }

    def _visible_customers(self) -> list[dict[str, Any]]:
        now = self.now
        records = [c.record for c in self._customers if c.created_at <= now]
        return sorted(records, key=lambda r: (r["customer_name"].lower(), r["id"]))

    def _customers_at(self, moment: datetime) -> list[_Customer]:
        return [c for c in self._customers if c.created_at <= moment and not c.record["archived"]]

    def _make_projects(self, count: int) -> list[_Project]:
        rng = self._rng("projects")
        start = _utc_midnight(self.start_date)
        organization_id = self._organization["id"]
        before_start = max(1, count // 2)  # enough for two pages of 10 from the first day
        projects = []
        for index in range(count):
            if index < before_start:
                created = start - timedelta(seconds=rng.randrange(1, 60 * 86_400))
            else:
                created = start + timedelta(seconds=rng.randrange(PROJECT_GROWTH_DAYS * 86_400))
            internal = index == 0  # every administration has one: hours nobody is billed for
            candidates = self._customers_at(created) or self._customers
            customer = None if internal else rng.choice(candidates)
            rate = Decimal(0) if internal else Decimal(rng.choice((55, 65, 75, 85, 95, 110)))
            topic = rng.choice(_PROJECT_TOPICS)
            customer_name = customer.record["customer_name"] if customer else None
            edits, moment = [], created
            for _ in range(40):  # edited every week or few, for years
                moment += timedelta(seconds=rng.randrange(7 * 86_400, 45 * 86_400))
                edits.append(moment)
            archived_after = timedelta(days=rng.randrange(60, 240))
            archive_at = created + archived_after if rng.random() < 0.2 else None
            record = {
                "organization_id": organization_id,
                "aggregate_id": _uuid(rng),
                "name": "Interne uren" if internal else f"{topic} {customer_name}",
                "reference": None if internal else f"P{created.year}-{index + 1:03d}",
                "customer_id": None if internal else customer.record["id"],
                "description": None if internal else f"{topic} voor {customer_name}",
                "is_internal": internal,
                "customer_record": None if internal else customer.record,
                "default_registration_description": rng.choice(_TASKS),
                "default_hourly_rate": _money(rate),
            }
            projects.append(_Project(index, record, created, tuple(edits), archive_at, rate))
        return sorted(projects, key=lambda p: (p.created_at, p.aggregate_id))

    def _visible_projects(self, now: datetime) -> list[_Project]:
        return [p for p in self._projects if p.created_at <= now]

    def _render_project(self, project: _Project, now: datetime) -> dict[str, Any]:
        archived = project.archive_at is not None and project.archive_at <= now
        changes = [m for m in (*project.edits, project.archive_at) if m is not None and m <= now]
        this_month = now.astimezone(AMSTERDAM).date().replace(day=1)
        total_minutes = month_minutes = 0
        total_value = Decimal(0)
        for day in self._data_days(now):
            for item in self._line_items_of_day(day).get(project.aggregate_id, ()):
                if item.created_at <= now:
                    total_minutes += item.minutes
                    month_minutes += item.minutes if day >= this_month else 0
                    total_value += item.total
        r = project.record
        return {  # in the order of Jortt's document
            "organization_id": r["organization_id"],
            "aggregate_id": r["aggregate_id"],
            "name": r["name"],
            "reference": r["reference"],
            "customer_id": r["customer_id"],
            "description": r["description"],
            "created_at": _iso_millis(project.created_at),
            "updated_at": _iso_millis(max(changes, default=project.created_at)),
            "archived": archived,
            "is_internal": r["is_internal"],
            "customer_record": r["customer_record"],
            "default_registration_description": r["default_registration_description"],
            "default_hourly_rate": r["default_hourly_rate"],
            "minutes_this_month": month_minutes,
            "total_minutes": total_minutes,
            "total_value": _money(total_value),
        }

    # -- data: invoices -----------------------------------------------------------------------

    def _invoices_of_day(self, day: date) -> list[_Invoice]:
        """Invoices created on the UTC day `day`, oldest first (cached)."""
        if day < self.start_date:
            return []
        with self._lock:
            cached = self._invoice_days.get(day)
            if cached is None:
                cached = self._invoice_days[day] = self._generate_invoices(day)
            return cached

    def _generate_invoices(self, day: date) -> list[_Invoice]:
        rng = self._rng("invoices", day.isoformat())
        weekend = day.weekday() >= 5
        share = rng.uniform(0.1, 0.3) if weekend else rng.uniform(0.8, 1.2)
        count = round(self.invoices_per_day * share)
        # Office hours, 06:00-22:00 local time, stay within the UTC day.
        seconds = sorted(rng.randrange(5 * 3600, 21 * 3600) for _ in range(count))
        return [self._make_invoice(rng, _utc_midnight(day) + timedelta(seconds=s)) for s in seconds]

    def _make_invoice(self, rng: random.Random, created: datetime) -> _Invoice:
        invoice_id = _uuid(rng)
        sent = rng.random() < 0.85
        candidates = self._customers_at(created)
        # Some drafts are still empty, as "new invoice" leaves them (seen in Jortt's responses).
        empty_draft = not candidates or (not sent and rng.random() < 0.2)
        customer = None if empty_draft else rng.choice(candidates)
        sent = sent and customer is not None
        c = customer.record if customer else {}
        lines = [self._invoice_line(rng, c) for _ in range(rng.randint(1, 4))] if customer else []
        total = sum((Decimal(line["total_amount_excl_vat"]["value"]) for line in lines), Decimal(0))
        vat = sum(
            (
                Decimal(line["total_amount_excl_vat"]["value"]) * Decimal(line["vat_percentage"]) / 100
                for line in lines
            ),
            Decimal(0),
        ).quantize(CENT, ROUND_HALF_UP)
        invoice_date = created.astimezone(AMSTERDAM).date() if sent else None
        due_date = invoice_date + timedelta(days=c["payment_term"]) if invoice_date else None
        paid_after = rng.randrange(0, 46) if rng.random() < 0.8 else None
        paid_on = None
        if invoice_date is not None and paid_after is not None:
            paid_on = invoice_date + timedelta(days=paid_after)
        first_of_month = invoice_date.replace(day=1).isoformat() if invoice_date else None
        record = {  # in the order of Jortt's document; invoice_number and due amount come later
            "id": invoice_id,
            "invoice_status": "sent" if sent else "draft",
            "customer_id": c.get("id"),
            "tradename_id": None,
            "invoice_number": None,
            "invoice_date": invoice_date.isoformat() if invoice_date else None,
            "invoice_due_date": due_date.isoformat() if due_date else None,
            "invoice_delivery_period": first_of_month,
            "invoice_delivery_period_end": None,
            "invoice_date_sent": invoice_date.isoformat() if invoice_date else None,
            "invoice_total": _money(total),
            "invoice_total_incl_vat": _money(total + vat),
            "invoice_due_amount": None,
            "send_method": rng.choice(("email", "email", "self")) if sent else None,
            "net_amounts": False,
            "invoice_marked_free_of_vat": False,
            "credited_invoice_id": None,
            "remarks": None,
            "introduction": None,
            "number_of_reminders_sent": 0,
            "last_reminded_at": None,
            "payment_method": "pay_later" if customer else None,
            "customer_company_name": c.get("customer_name"),
            "customer_attn": c.get("attn"),
            "customer_address_street": c.get("address_street"),
            "customer_address_city": c.get("address_city"),
            "customer_address_postal_code": c.get("address_postal_code"),
            "customer_address_country_code": c.get("address_country_code"),
            "customer_address_country_name": c.get("address_country_name"),
            "customer_address_extra_information": c.get("address_extra_information"),
            "customer_vat_shifted": c.get("shift_vat", False),
            "customer_vat_number": c.get("vat_number"),
            "customer_in_eu": True if customer else None,
            "customer_reference": None,
            "customer_is_private": c.get("is_private"),
            "customer_mail_to": c.get("email"),
            "customer_mail_cc_addresses": [],
            "language": c.get("invoice_language", "nl"),
            "line_items": lines,
            "discounts": [],
            "reference": None,
            "created_at": _iso_seconds(created),
            "credit_invoice_ids": None,
            "peppol_status": None,
        }
        return _Invoice(record, created, sent, due_date, paid_on, total + vat)

    def _invoice_line(self, rng: random.Random, customer: dict[str, Any]) -> dict[str, Any]:
        units = Decimal(rng.choice(("1", "1", "2", "3", "4", "8", "0.5", "1.5", "2.5")))
        price = Decimal(rng.randrange(2_500, 50_000)) / 100
        vat = 0 if customer["shift_vat"] else rng.choice((21, 21, 21, 21, 9))
        return {
            "description": rng.choice(_INVOICE_LINES),
            "vat_percentage": f"{vat}.0",
            "vat": vat,
            "units": float(units),
            "number_of_units": f"{units:.1f}" if units == units.to_integral() else f"{units}",
            "amount_per_unit": _money(price),
            "total_amount_excl_vat": _money(units * price),
            "ledger_account_id": rng.choice(self._ledger_accounts),
        }

    def _invoice_number(self, invoice: _Invoice) -> str | None:
        """`YYYYMM-NNN`, counting the sent invoices of the month; drafts have none yet."""
        if not invoice.sent:
            return None
        day = invoice.created_at.date()
        return self._month_numbers(day.year, day.month)[invoice.record["id"]]

    def _month_numbers(self, year: int, month: int) -> dict[str, str]:
        """Invoice numbers of a month's sent invoices (cached). Later invoices never change the
        numbers of earlier ones, so the whole month can be numbered whatever the clock says."""
        with self._lock:
            numbers = self._invoice_numbers.get((year, month))
            if numbers is None:
                first = max(date(year, month, 1), self.start_date)
                next_month = (date(year, month, 28) + timedelta(days=4)).replace(day=1)
                days = _days(first, next_month - timedelta(days=1))
                sent = [inv for d in days for inv in self._invoices_of_day(d) if inv.sent]
                numbers = {
                    inv.record["id"]: f"{year:04d}{month:02d}-{number:03d}"
                    for number, inv in enumerate(sent, 1)
                }
                self._invoice_numbers[(year, month)] = numbers
            return numbers

    def _render_invoice(self, invoice: _Invoice, now: datetime) -> dict[str, Any]:
        paid = invoice.paid_on is not None and invoice.paid_on <= now.astimezone(AMSTERDAM).date()
        due = Decimal(0) if paid or not invoice.sent else invoice.total_incl_vat
        return {
            **invoice.record,
            "invoice_number": self._invoice_number(invoice),
            "invoice_due_amount": _money(due),
        }

    # -- data: project line items -------------------------------------------------------------

    def _line_items_of_day(self, day: date) -> dict[str, list[_LineItem]]:
        """Line items dated `day` by project id, oldest first (cached)."""
        if day < self.start_date:
            return {}
        with self._lock:
            cached = self._line_item_days.get(day)
            if cached is None:
                cached = self._line_item_days[day] = self._generate_line_items(day)
            return cached

    def _generate_line_items(self, day: date) -> dict[str, list[_LineItem]]:
        if day.weekday() >= 5:
            return {}
        rng = self._rng("line_items", day.isoformat())
        drafts: list[tuple[datetime, _Project, bool]] = []
        for project in self._projects:
            if not project.active_on(day):
                continue
            registrations = rng.choice((0, 0, 1, 1, 2, 3))
            has_cost = rng.random() < 0.1 and not project.record["is_internal"]
            for is_cost in [False] * registrations + [True] * has_cost:
                # Registered during the working day, local time.
                created = datetime.combine(day, clock_time(9), AMSTERDAM) + timedelta(
                    seconds=rng.randrange(9 * 3600)
                )
                drafts.append((created.astimezone(UTC), project, is_cost))
        drafts.sort(key=lambda d: (d[0], d[1].index))
        first_id = (day - self.start_date).days * LINE_ITEM_IDS_PER_DAY + 1
        by_project: dict[str, list[_LineItem]] = {}
        for number, (created, project, is_cost) in enumerate(drafts, start=first_id):
            item = self._make_line_item(rng, number, day, created, project, is_cost)
            by_project.setdefault(project.aggregate_id, []).append(item)
        return by_project

    def _make_line_item(
        self,
        rng: random.Random,
        line_item_id: int,
        day: date,
        created: datetime,
        project: _Project,
        is_cost: bool,
    ) -> _LineItem:
        user = rng.choice(self._users)
        if is_cost:
            minutes, quantity, amount = 0, Decimal(1), Decimal(rng.randrange(500, 15_000)) / 100
            description = rng.choice(_COSTS)
        else:
            minutes = rng.choice((15, 30, 45, 60, 90, 120, 180, 240, 300, 480))
            quantity, amount = Decimal(minutes) / 60, project.hourly_rate
            description = project.record["default_registration_description"]
        total = (quantity * amount).quantize(CENT, ROUND_HALF_UP)
        if project.record["is_internal"]:
            status = "nonbillable"
        else:
            status = rng.choices(LINE_ITEM_STATUSES, weights=(60, 25, 5, 10))[0]
        invoice_id = _uuid(rng) if status == "invoiced" else None
        edited = rng.random() >= 0.7
        updated = created + timedelta(minutes=rng.randint(1, 240)) if edited else created
        record = {  # in the order of Jortt's document; updated_at is set when rendered
            "project_id": project.aggregate_id,
            "description": description,
            "amount": _money(amount),
            "quantity": f"{quantity.quantize(CENT, ROUND_HALF_UP)}",
            "invoice_id": invoice_id,
            "user_id": user["id"],
            "organization_id": self._organization["id"],
            "line_item_id": line_item_id,
            "status": status,
            "date": day.isoformat(),
            "line_item_type": "cost" if is_cost else "time_registration",
            "created_at": _iso_millis(created),
            "updated_at": None,
            "total_amount": _money(total),
            "user_record": user,
        }
        return _LineItem(record, created, updated, day, minutes, total)

    def _line_items_for(
        self,
        project_id: str,
        start: date | None,
        end: date | None,
        status: str | None,
        now: datetime,
    ) -> list[_LineItem]:
        days = [d for d in self._data_days(now) if (start is None or d >= start) and (end is None or d < end)]
        return [
            item
            for day in days
            for item in self._line_items_of_day(day).get(project_id, ())
            if item.created_at <= now and (status is None or item.record["status"] == status)
        ]

    def _render_line_item(self, item: _LineItem, now: datetime) -> dict[str, Any]:
        updated = item.updated_at if item.updated_at <= now else item.created_at
        return {**item.record, "updated_at": _iso_millis(updated)}


def _search_query(request: EmulatorRequest) -> str | None:
    query = (request.arg("query") or "").strip()
    if query and len(query) < 3:  # an empty `query=` is accepted, as Jortt's own client sends it
        raise InvalidParam("query", "is_too_short", "must be at least 3 characters")
    return query.lower() or None


def _date_arg(request: EmulatorRequest, name: str) -> date | None:
    raw = request.arg(name)
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise InvalidParam(name, "is_invalid", "is invalid")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidParam(name, "is_invalid", "is invalid") from None


def _invoice_has_status(invoice: _Invoice, status: str, today: date) -> bool:
    if status == "draft":
        return not invoice.sent
    if status == "sent":
        return invoice.sent
    paid = invoice.paid_on is not None and invoice.paid_on <= today
    if status == "paid":
        return invoice.sent and paid
    unpaid = invoice.sent and not paid
    if status == "unpaid":
        return unpaid
    return unpaid and invoice.due_date is not None and invoice.due_date < today  # late


def _invoice_matches(invoice: _Invoice, number: str | None, query: str) -> bool:
    fields = (number, invoice.record["customer_company_name"], invoice.record["reference"])
    return any(query in (value or "").lower() for value in fields)
