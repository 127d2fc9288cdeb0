"""The Odoo client: one interface over Odoo's two external APIs, chosen by `protocol`.

- JSON-2 (Odoo 19+): `POST /json/2/<model>/<method>` with named parameters, `Authorization: bearer
  <api key>` and `X-Odoo-Database`; the bare return value on success, a real 4xx/5xx with
  `{name, message, ...}` on failure.
- JSON-RPC (every version, removed in Odoo 22): `POST /jsonrpc`, `common.login` for a uid, then
  `object.execute_kw(db, uid, key, model, method, args, kwargs)`. Errors come as HTTP 200 with an
  `error` member: `OdooApi` turns them into `ApiError`s and never retries them (AccessDenied,
  UserError and friends fail the same way again) — except code 100, session expired, after which it
  logs in again once and resends.

Both are called the same way — `call(model, method, params, ids)` with named parameters (JSON-RPC
passes them as `kwargs`, the record ids as its one positional argument) — and page the same way
(the kit's `Offset` at the parameters' place in the body), so an endpoint never knows which it
speaks. `auto` asks `GET /web/version` (no auth) and takes JSON-2 from Odoo 19 on.
"""

from __future__ import annotations

import copy
import itertools
import logging
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from plumbing_dagster.kit import (
    ApiClient,
    ApiError,
    ConnectionError_,
    Offset,
    Page,
    PageRequest,
    RetryPolicy,
    Scrubber,
    iter_pages,
)
from plumbing_dagster.kit.http import RETRYABLE_STATUS
from plumbing_dagster.sources.odoo.connection import OdooConnection

logger = logging.getLogger(__name__)

RPC_PATH = "/jsonrpc"
JSON2_PREFIX = "/json/2/"
VERSION_PATH = "/web/version"
JSON2_SINCE = 19  # the first Odoo with JSON-2
SESSION_EXPIRED = 100  # JSON-RPC error code: log in again
KWARGS = 6  # where `execute_kw` takes its keyword arguments
# Exceptions that say the call itself is wrong: sent again, it fails the same way.
DETERMINISTIC = ("odoo.exceptions.", "builtins.")
HINTS = {
    "werkzeug.exceptions.Unauthorized": "check ODOO_API_KEY and ODOO_DATABASE",
    "odoo.exceptions.AccessDenied": "check ODOO_LOGIN, ODOO_API_KEY and ODOO_DATABASE",
    "odoo.exceptions.AccessError": "the integration user lacks read access",
}


def _error_text(name: Any, message: Any) -> str:
    """`name: message (what to check)` from Odoo's serialised exception."""
    text = f"{name}: {' '.join(str(message).split())}" if message else str(name)
    hint = HINTS.get(name) if isinstance(name, str) else None
    return f"{text} ({hint})" if hint else text


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        return None


def read_error(response: httpx.Response) -> str | None:
    """A JSON-2 error body (`{name, message, arguments, context, debug}`) on one line; the traceback
    in `debug` is left out. Odoo's HTML 404 on a JSON-2 route means no database was selected."""
    body = _body(response)
    if isinstance(body, dict) and isinstance(body.get("name"), str):
        return _error_text(body["name"], body.get("message"))
    if response.status_code == 404 and JSON2_PREFIX in response.request.url.path:
        return (
            "no such route: no database selected (check ODOO_DATABASE), or the server has no "
            "JSON-2 (Odoo < 19: set ODOO_PROTOCOL=jsonrpc)"
        )
    return None


class Json2Auth(httpx.Auth):
    """The API key as a bearer token, on JSON-2 calls only (JSON-RPC carries it in the body)."""

    def __init__(self, api_key: str, scrub: Scrubber):
        self._value = f"bearer {api_key}"
        scrub.add(api_key)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if JSON2_PREFIX in request.url.path:
            request.headers["Authorization"] = self._value
        yield request


def rpc_payload(service: str, method: str, args: list[Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "call",
        "params": {"service": service, "method": method, "args": args},
    }


class OdooApi(ApiClient):
    """`ApiClient` for Odoo: JSON-2's error bodies and which 500s are worth a retry, JSON-RPC's
    HTTP-200 errors and its login session (the uid is filled into each `execute_kw` here)."""

    def __init__(self, settings: OdooConnection, *, retry: RetryPolicy | None = None, timeout: float = 60.0):
        scrub = Scrubber(settings.secrets())
        super().__init__(
            "odoo",
            settings.base_url,
            auth=Json2Auth(settings.api_key, scrub),
            headers={"X-Odoo-Database": settings.database},
            retry=retry,
            timeout=timeout,
            scrub=scrub,
            read_error=read_error,
        )
        self.settings = settings
        self.logins = 0
        self._uid: int | None = None
        self._ids = itertools.count(1)

    def retryable(self, response: httpx.Response) -> bool:
        """429 and 5xx, but not a 500 for an Odoo or Python exception (a bad domain, a missing field)."""
        if response.status_code != 500:
            return response.status_code in RETRYABLE_STATUS
        body = _body(response)
        name = body.get("name") if isinstance(body, dict) else None
        return not (isinstance(name, str) and name.startswith(DETERMINISTIC))

    # -- JSON-RPC -----------------------------------------------------------------------------------

    def rpc(self, service: str, method: str, args: list[Any], where: str | None = None) -> Any:
        """One JSON-RPC call's result."""
        response = self.request("POST", RPC_PATH, json=rpc_payload(service, method, args), where=where)
        body = self.parse_json(response, where)
        if not isinstance(body, dict) or "result" not in body:
            raise self.error("POST", RPC_PATH, 200, "malformed page: no 'result' in the answer", where)
        return body["result"]

    def uid(self) -> int:
        """The integration user's uid, logging in on first use."""
        if self._uid is None:
            settings = self.settings
            if not settings.login:
                raise ConnectionError_("odoo: ODOO_LOGIN not set (JSON-RPC logs in with it)")
            uid = self.rpc("common", "login", [settings.database, settings.login, settings.api_key], "login")
            if isinstance(uid, bool) or not isinstance(uid, int):
                raise self.error(
                    "POST",
                    RPC_PATH,
                    200,
                    f"login refused on database {settings.database!r} "
                    "(check ODOO_LOGIN, ODOO_API_KEY and ODOO_DATABASE)",
                    "login",
                )
            self._uid = uid
            self.logins += 1
        return self._uid

    def _signed(self, payload: Any) -> Any:
        """The payload with a request id, and for `execute_kw` the database, uid and key filled in
        (paged requests leave them out, so no page request holds the key)."""
        signed = copy.deepcopy(payload)
        signed["id"] = next(self._ids)
        params = signed.get("params") or {}
        if params.get("service") == "object" and params.get("method") == "execute_kw":
            args = params["args"]
            args[0:3] = [self.settings.database, self.uid(), self.settings.api_key]
        return signed

    def request(self, method: str, url: str, *, where: str | None = None, **kwargs: Any) -> httpx.Response:
        if url != RPC_PATH:
            return super().request(method, url, where=where, **kwargs)
        payload = kwargs.pop("json")
        call = _call_name(payload)
        for attempt in (1, 2):
            response = super().request(method, url, where=where, json=self._signed(payload), **kwargs)
            body = _body(response)
            error = body.get("error") if isinstance(body, dict) else None
            if not isinstance(error, dict):
                return response  # a body that is not JSON is reported where it is parsed
            data = error.get("data") if isinstance(error.get("data"), dict) else {}
            if error.get("code") == SESSION_EXPIRED and attempt == 1 and call:
                logger.info("odoo: the JSON-RPC session expired; logging in again")
                self._uid = None
                continue
            detail = _error_text(data.get("name") or error.get("message"), data.get("message"))
            raise self.error(method, url, 200, f"{call}: {detail}" if call else detail, where)
        raise AssertionError("unreachable")  # pragma: no cover


def _call_name(payload: Any) -> str | None:
    """`model.method` of an `execute_kw` payload (for error messages), else None."""
    params = payload.get("params") if isinstance(payload, dict) else None
    args = params.get("args") if isinstance(params, dict) else None
    if not isinstance(args, list) or len(args) < 5 or params.get("method") != "execute_kw":  # type: ignore[union-attr]
        return None
    return f"{args[3]}.{args[4]}"


@dataclass(frozen=True)
class Json2:
    """`POST /json/2/<model>/<method>`, named parameters in the body, the value itself back."""

    name = "json2"
    records_path = ""

    def request(
        self, model: str, method: str, params: Mapping[str, Any], ids: Sequence[int] | None
    ) -> PageRequest:
        body = dict(params) if ids is None else {"ids": list(ids), **params}
        return PageRequest("POST", f"{JSON2_PREFIX}{model}/{method}", json=body)

    def paging(self, page_size: int) -> Offset:
        return Offset("offset", "limit", page_size, in_body=True)

    def result(self, body: Any) -> Any:
        return body


@dataclass(frozen=True)
class JsonRpc:
    """`object.execute_kw`: the ids as its positional argument, the parameters as its kwargs."""

    name = "jsonrpc"
    records_path = "result"

    def request(
        self, model: str, method: str, params: Mapping[str, Any], ids: Sequence[int] | None
    ) -> PageRequest:
        args = [] if ids is None else [list(ids)]
        # Database, uid and key are filled in when sent (`OdooApi._signed`).
        payload = rpc_payload("object", "execute_kw", [None, None, None, model, method, args, dict(params)])
        return PageRequest("POST", RPC_PATH, json=payload)

    def paging(self, page_size: int) -> Offset:
        path = f"params.args.{KWARGS}"
        return Offset(f"{path}.offset", f"{path}.limit", page_size, in_body=True)

    def result(self, body: Any) -> Any:
        return body["result"]


PROTOCOLS: dict[str, Json2 | JsonRpc] = {"json2": Json2(), "jsonrpc": JsonRpc()}


def major_version(info: Any) -> int | None:
    """The major version from `version_info` (`[19, 0, 0, "final", 0, ""]`, or `["saas~18", 3, ...]`)."""
    first = info[0] if isinstance(info, list) and info else None
    if isinstance(first, str):
        first = first.rpartition("~")[2]
    try:
        return int(first)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class OdooClient:
    """Calls and paged reads on Odoo's models over the configured protocol."""

    def __init__(self, api: OdooApi, protocol: str = "auto"):
        self.api = api
        self._setting = protocol
        self._protocol: Json2 | JsonRpc | None = None
        self._fields: dict[str, dict[str, dict[str, Any]]] = {}

    @property
    def protocol(self) -> Json2 | JsonRpc:
        if self._protocol is None:
            self._protocol = PROTOCOLS.get(self._setting) or self._detect()
        return self._protocol

    def _detect(self) -> Json2 | JsonRpc:
        try:
            body = self.api.get_json(VERSION_PATH, where="version")
        except ApiError as problem:
            if problem.status != 404:
                raise
            logger.info("odoo: no %s (Odoo < 18): using JSON-RPC", VERSION_PATH)
            return PROTOCOLS["jsonrpc"]
        major = major_version(body.get("version_info") if isinstance(body, dict) else None)
        if major is None:
            raise self.api.error(
                "GET", VERSION_PATH, 200, f"malformed page: no version_info in {body!r:.100}"
            )
        chosen = PROTOCOLS["json2" if major >= JSON2_SINCE else "jsonrpc"]
        logger.info("odoo: server version %s: using %s", body.get("version"), chosen.name)
        return chosen

    def call(
        self,
        model: str,
        method: str,
        params: Mapping[str, Any],
        ids: Sequence[int] | None = None,
        where: str | None = None,
    ) -> Any:
        """One call of `model.method` with named parameters (and record ids, for records methods);
        `where` says which part of a longer read it is (`page 2, after id 50000`), for errors."""
        request = self.protocol.request(model, method, params, ids)
        where = f"{model}.{method}" + (f", {where}" if where else "")
        response = self.api.request(request.method, request.url, json=request.json, where=where)
        return self.protocol.result(self.api.parse_json(response, where))

    def pages(self, model: str, method: str, params: Mapping[str, Any], page_size: int) -> Iterator[Page]:
        """Pages of `model.method` (a `search_read`), by offset and limit."""
        protocol = self.protocol
        request = protocol.request(model, method, params, None)
        return iter_pages(self.api, request, protocol.paging(page_size), protocol.records_path)

    def fields(self, model: str) -> dict[str, dict[str, Any]]:
        """`fields_get` of `model` (name -> type, label, relation), asked once per client."""
        if model not in self._fields:
            attributes = ["type", "string", "relation", "store"]
            described = self.call(model, "fields_get", {"attributes": attributes})
            if not isinstance(described, dict) or not all(isinstance(v, dict) for v in described.values()):
                url = self.protocol.request(model, "fields_get", {}, None).url
                raise self.api.error(
                    "POST", url, 200, "malformed page: fields_get gave no field descriptions"
                )
            self._fields[model] = described
        return self._fields[model]

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> OdooClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    settings: OdooConnection, *, retry: RetryPolicy | None = None, timeout: float = 60.0
) -> OdooClient:
    """A client for `settings`; nothing is sent until the first call."""
    return OdooClient(OdooApi(settings, retry=retry, timeout=timeout), settings.protocol)
