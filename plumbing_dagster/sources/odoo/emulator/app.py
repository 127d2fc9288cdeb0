"""An emulator of Odoo's external APIs over `OdooWorld`, faithful to `vendor-apis.md` and to Odoo's
own dispatchers (`odoo/http.py`, `addons/web/controllers/json2.py`, `odoo/service/*.py`).

Served:

- `POST /jsonrpc` (every version): `{"jsonrpc": "2.0", "method": "call", "params": {"service",
  "method", "args"}, "id"}`. Services: `common.login(db, login, password)` → uid or `false`,
  `common.authenticate(db, login, password, env)`, `common.version()`, `db.list()`,
  `db.server_version()`, `object.execute_kw(db, uid, key, model, method, args, kwargs)` and
  `object.execute(db, uid, key, model, method, *args)`. The password and the API key both work as
  `key`, as for Odoo's RPC. Always HTTP 200; errors in `error` with code 200 ("Odoo Server Error")
  or 100 ("Odoo Session Expired").
- `POST /json/2/<model>/<method>` (Odoo 19+): `Authorization: bearer <api key>`, named parameters
  in a JSON object body (`ids`, `context` and the method's own); success is HTTP 200 with the bare
  return value, errors are real statuses with `{name, message, arguments, context, debug}`. Odoo
  accepts every HTTP method on the route and answers 405 for all but POST.
- `GET /web/version` (Odoo 18+), no auth: `{"version_info": [...], "version": "19.0"}`.

Databases: `database` holds the data; `other_databases` exist beside it, empty (no users: login is
`false`, a key is refused). JSON-2 picks its database from `X-Odoo-Database`, or alone when the
server has a single database; with several and no header — or a header naming none of them — no
database is selected, so the route does not exist there: 404, as Odoo's database-less routing
answers. JSON-RPC names its database in every call; an unknown one is PostgreSQL's error.

Sessions: `common.login` opens a uid session; `expire_sessions()` ends them all, after which each
`execute_kw` answers code 100 (Odoo Session Expired) until the client logs in again. Bearer calls
are stateless. No documented rate limit: `rate_limit` (requests a second) adds one for tests, 429.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from plumbing_dagster.kit.emulator import (
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    RateLimiter,
    Route,
    bearer_token,
    same_secret,
)
from plumbing_dagster.sources.odoo.emulator.errors import (
    OdooError,
    access_denied,
    http_error,
    missing_database,
    python_error,
    session_expired,
)
from plumbing_dagster.sources.odoo.emulator.models import JSON2_SINCE, WEB_VERSION_SINCE
from plumbing_dagster.sources.odoo.emulator.orm import Orm
from plumbing_dagster.sources.odoo.emulator.timeline import ADMIN_UID
from plumbing_dagster.sources.odoo.emulator.world import OdooWorld

logger = logging.getLogger(__name__)

SANDBOX_DATABASE = "sandbox"
SANDBOX_LOGIN = "admin"  # the login of the world's administrator (uid 2)
SANDBOX_PASSWORD = "sandbox-odoo-password"  # only this emulator accepts it
SANDBOX_API_KEY = "sandbox-odoo-api-key-7c1e0f3a9b2d4e6f8a0b1c2d"  # only this emulator accepts it
JSON2_PATH = r"/json/2/(?P<model>[^/]+)/(?P<method>[^/]+)"
JSON_MIMETYPES = ("application/json", "application/json-rpc")
NOT_FOUND_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
)


def version_info(version: int) -> list[Any]:
    return [version, 0, 0, "final", 0, ""]


def _mimetype(request: EmulatorRequest) -> str:
    return (request.header("content-type") or "").split(";", 1)[0].strip().lower()


def _html(status: int, title: str) -> EmulatorResponse:
    body = NOT_FOUND_PAGE if status == 404 else f"<!DOCTYPE html><title>{status} {title}</title>".encode()
    return EmulatorResponse(status, body, {"Content-Type": "text/html; charset=utf-8"})


def _unexpected(exc: Exception) -> OdooError:
    # Arguments of the wrong type end here, as they would in Odoo; so would an emulator bug: log it.
    logger.warning("odoo emulator: %s while serving a call", type(exc).__name__, exc_info=True)
    return python_error(exc)


class OdooEmulator(EmulatorApp):
    """Odoo's external APIs. Ask `world` what they must serve; `calls` counts the model calls by
    (protocol, model, method)."""

    def __init__(
        self,
        world: OdooWorld | None = None,
        *,
        version: int | None = None,
        database: str = SANDBOX_DATABASE,
        other_databases: Sequence[str] = (),
        login: str = SANDBOX_LOGIN,
        password: str = SANDBOX_PASSWORD,
        api_key: str = SANDBOX_API_KEY,
        rate_limit: int | None = None,
    ):
        """`version`: the Odoo version (default 19, or the world's; they must agree)."""
        super().__init__()
        if world is None:
            world = OdooWorld(version=version or JSON2_SINCE)
        elif version is not None and version != world.version:
            raise ValueError(f"the world is Odoo {world.version}, not {version}")
        self.world = world
        self.version = world.version
        self.database = database
        self.databases = tuple(dict.fromkeys((database, *other_databases)))
        self.login = login
        self.password = password
        self.api_key = api_key
        self.limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self.orm = Orm(world)
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self._sessions: set[int] = set()
        self._expired: set[int] = set()
        self._lock = threading.Lock()

    def expire_sessions(self) -> None:
        """End every uid session: the next `execute_kw` of each answers code 100 until a new login."""
        with self._lock:
            self._expired |= self._sessions | {ADMIN_UID}
            self._sessions.clear()

    # -- the EmulatorApp hooks --------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        routes = [Route("POST", "/jsonrpc", self._jsonrpc, "jsonrpc", None)]
        if self.version >= WEB_VERSION_SINCE:
            routes.append(Route("GET", "/web/version", self._web_version, "web_version", None))
        if self.version >= JSON2_SINCE:
            routes += [
                Route(m, JSON2_PATH, self._json2, "json2", "bearer")
                for m in ("POST", "GET", "PUT", "PATCH", "DELETE")
            ]
        return routes

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        """JSON-2: the database first (none selected: the route does not exist), then the key."""
        header_db = request.header("x-odoo-database")
        selected = (
            header_db if header_db is not None else (self.databases[0] if len(self.databases) == 1 else None)
        )
        if selected not in self.databases:
            return self.not_found(request)
        token = bearer_token(request.header("authorization"))
        challenge = {"WWW-Authenticate": "Bearer"}
        if token is None:
            return self._json2_error(
                http_error(401, 'User not authenticated, use the "Authorization" header', challenge)
            )
        if selected != self.database or not same_secret(token, self.api_key):
            return self._json2_error(http_error(401, "Invalid apikey", challenge))
        return None

    def error(self, status: int, key: str, message: str, details: Any = None) -> EmulatorResponse:
        """An error in JSON-2's shape (what injected faults and the rate limit render)."""
        return self._json2_error(http_error(status))

    def throttled(self) -> EmulatorResponse:
        return self._json2_error(http_error(429))

    def not_found(self, request: EmulatorRequest) -> EmulatorResponse:
        return _html(404, "Not Found")  # Odoo's 404 page is HTML, whatever the path

    def method_not_allowed(self, request: EmulatorRequest) -> EmulatorResponse:
        return _html(405, "Method Not Allowed")

    # -- GET /web/version -------------------------------------------------------------------------

    def _web_version(self, request: EmulatorRequest) -> EmulatorResponse:
        return EmulatorResponse.of_json(
            {"version_info": version_info(self.version), "version": f"{self.version}.0"}
        )

    # -- JSON-2 -----------------------------------------------------------------------------------

    def _json2_error(self, problem: OdooError) -> EmulatorResponse:
        return EmulatorResponse.of_json(problem.json2_body(), status=problem.status, headers=problem.headers)

    def _json2(self, request: EmulatorRequest, model: str, method: str) -> EmulatorResponse:
        try:
            params: dict[str, Any] = {}
            if request.body:
                if _mimetype(request) != "application/json":
                    raise http_error(
                        400,
                        "Request inferred type is compatible with ['http'] but '/json/2/rpc' "
                        "was expected by the endpoint",
                    )
                try:
                    body = json.loads(request.body)
                except ValueError as exc:
                    raise http_error(400, f"could not parse the body as json: {exc.args[0]}") from None
                if not isinstance(body, dict):
                    raise http_error(400, "could not parse the body, expecting a json object")
                params = body
            if request.method != "POST":
                raise http_error(405)
            with self._lock:
                self.calls["json2", model, method] += 1
            result = self.orm.call_json2(ADMIN_UID, model, method, params)
        except OdooError as problem:
            return self._json2_error(problem)
        except Exception as exc:  # Odoo reports any other exception as a 500 in its shape
            return self._json2_error(_unexpected(exc))
        return EmulatorResponse.of_json(result)

    # -- JSON-RPC ---------------------------------------------------------------------------------

    def _jsonrpc(self, request: EmulatorRequest) -> EmulatorResponse:
        if _mimetype(request) not in JSON_MIMETYPES:
            return _html(400, "Bad Request")
        request_id = None
        try:
            try:
                payload = json.loads(request.body or b"null")
            except ValueError:
                raise http_error(400, "Invalid JSON data") from None
            if not isinstance(payload, dict):
                raise http_error(400, "Invalid JSON-RPC data")
            request_id = payload.get("id")
            params = payload.get("params") or {}
            if not isinstance(params, dict):
                raise python_error(TypeError("jsonrpc() argument after ** must be a mapping"))
            missing = [name for name in ("service", "method", "args") if name not in params]
            if missing:
                raise python_error(
                    TypeError(
                        f"jsonrpc() missing {len(missing)} required positional argument(s): "
                        + ", ".join(repr(name) for name in missing)
                    )
                )
            result = self._dispatch_rpc(params["service"], params["method"], params["args"])
            body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": result}
        except OdooError as problem:
            body = {"jsonrpc": "2.0", "id": request_id, "error": problem.rpc_error()}
        except Exception as exc:  # Odoo reports any other exception as an "Odoo Server Error"
            body = {"jsonrpc": "2.0", "id": request_id, "error": _unexpected(exc).rpc_error()}
        return EmulatorResponse.of_json(body)

    def _dispatch_rpc(self, service: Any, method: Any, args: Any) -> Any:
        services = {
            "common": {"login": self._login, "authenticate": self._authenticate, "version": self._version},
            "db": {"list": self._db_list, "server_version": lambda: f"{self.version}.0"},
            "object": {"execute_kw": self._execute_kw, "execute": self._execute},
        }
        if service not in services:
            raise python_error(KeyError(service))
        function = services[service].get(method)
        if function is None:
            raise python_error(
                NameError(f"Method not available {method}")
                if service == "object"
                else KeyError(f"exp_{method}")
            )
        if not isinstance(args, list):
            raise python_error(
                TypeError(f"{method}() argument after * must be an iterable, not {type(args).__name__}")
            )
        try:
            return function(*args)
        except TypeError as exc:  # the arguments do not fit the service method
            raise python_error(exc) from None

    def _version(self) -> dict[str, Any]:
        serie = f"{self.version}.0"
        return {
            "server_version": serie,
            "server_version_info": version_info(self.version),
            "server_serie": serie,
            "protocol_version": 1,
        }

    def _db_list(self) -> list[str]:
        return sorted(self.databases)

    def _login(self, db: str, login: str, password: str) -> int | bool:
        return self._authenticate(db, login, password, {})

    def _authenticate(self, db: str, login: str, password: str, user_agent_env: Any) -> int | bool:
        if db not in self.databases:
            raise missing_database(db)
        if db != self.database or login != self.login or not self._valid_key(password):
            return False
        with self._lock:
            self._sessions.add(ADMIN_UID)
            self._expired.discard(ADMIN_UID)
        return ADMIN_UID

    def _valid_key(self, key: Any) -> bool:
        return isinstance(key, str) and (same_secret(key, self.password) or same_secret(key, self.api_key))

    def _execute_kw(
        self, db: str, uid: Any, key: str, model: str, method: str, args: Any, kwargs: Any = None
    ) -> Any:
        uid = self._check(db, uid, key)
        with self._lock:
            self.calls["jsonrpc", model, method] += 1
        return self.orm.call_rpc(uid, model, method, args, kwargs if kwargs is not None else {})

    def _execute(self, db: str, uid: Any, key: str, model: str, method: str, *args: Any) -> Any:
        return self._execute_kw(db, uid, key, model, method, list(args), {})

    def _check(self, db: str, uid: Any, key: Any) -> int:
        """`security.check(db, uid, key)`: the uid as an int, or AccessDenied."""
        if db not in self.databases:
            raise missing_database(db)
        try:
            uid = int(uid)
        except (TypeError, ValueError) as exc:
            raise python_error(exc) from None
        with self._lock:
            if uid in self._expired:
                raise session_expired()
        if db != self.database or uid != ADMIN_UID or not self._valid_key(key):
            raise access_denied()
        return uid
