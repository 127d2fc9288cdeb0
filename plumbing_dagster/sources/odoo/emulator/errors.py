"""Odoo's exceptions as the emulator raises them, and the two ways Odoo puts one on the wire.

Odoo serialises every exception the same way (`odoo.http.serialize_exception`): `name` is the
dotted class name (`odoo.exceptions.UserError`, `builtins.ValueError`,
`werkzeug.exceptions.NotFound`), then `message`, `arguments` (the exception's args), `context` and
`debug` (the server's traceback). JSON-RPC wraps that in an HTTP 200 `error` member with a JSON-RPC
code (200, or 100 for an expired session); JSON-2 sends it bare under a real HTTP status: 401/404/
405/422 for werkzeug's HTTP exceptions, the exception's `http_status` for Odoo's own (`UserError`
422, `AccessError` 403), and 500 for anything else — a `ValueError` from a bad domain is a 500, as in
Odoo 19's `Json2RpcDispatcher.handle_error`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

SERVER_ERROR = "Odoo Server Error"


class OdooError(Exception):
    """An exception as Odoo reports it. `text` is `str(exception)` (what JSON-RPC shows as the
    message); `message` is what JSON-2 shows, which differs only for werkzeug's exceptions (their
    description without the "404 Not Found: " prefix)."""

    def __init__(
        self,
        name: str,
        message: str,
        *,
        status: int = 500,
        arguments: list[Any] | None = None,
        text: str | None = None,
        rpc_code: int = 200,
        rpc_message: str = SERVER_ERROR,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status
        self.arguments = arguments if arguments is not None else [message]
        self.text = text if text is not None else message
        self.rpc_code = rpc_code
        self.rpc_message = rpc_message
        self.headers = headers or {}

    @property
    def debug(self) -> str:
        # Odoo sends its traceback; ours points at the emulator, never at a real file.
        return (
            "Traceback (most recent call last):\n"
            '  File "odoo/http.py", line 1, in dispatch (emulated)\n'
            f"{self.name}: {self.text}\n"
        )

    def json2_body(self) -> dict[str, Any]:
        """The body of a JSON-2 error response."""
        return {
            "name": self.name,
            "message": self.message,
            "arguments": self.arguments,
            "context": {},
            "debug": self.debug,
        }

    def rpc_error(self) -> dict[str, Any]:
        """The `error` member of a JSON-RPC response (sent with HTTP 200)."""
        data = {
            "name": self.name,
            "debug": self.debug,
            "message": self.text,
            "arguments": self.arguments,
            "context": {},
        }
        return {"code": self.rpc_code, "message": self.rpc_message, "data": data}


def user_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.UserError", message, status=422)


def access_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.AccessError", message, status=403)


def access_denied(message: str = "Access Denied") -> OdooError:
    """Bad credentials on JSON-RPC (`security.check` failing)."""
    return OdooError("odoo.exceptions.AccessDenied", message, status=403)


def value_error(message: str) -> OdooError:
    """What the ORM raises for an invalid domain, field or value: a 500 on JSON-2."""
    return OdooError("builtins.ValueError", message)


def type_error(message: str) -> OdooError:
    return OdooError("builtins.TypeError", message)


def python_error(exc: Exception) -> OdooError:
    """A Python exception raised while binding or calling, reported under its own name."""
    name = f"builtins.{type(exc).__name__}"
    return OdooError(name, str(exc), arguments=list(exc.args))


def http_error(
    status: int, description: str | None = None, headers: dict[str, str] | None = None
) -> OdooError:
    """One of werkzeug's HTTP exceptions (`werkzeug.exceptions.NotFound`, ...)."""
    phrase = HTTPStatus(status).phrase
    description = description or WERKZEUG_DESCRIPTIONS.get(status, phrase)
    name = "werkzeug.exceptions." + WERKZEUG_NAMES.get(status, phrase.replace(" ", ""))
    return OdooError(
        name,
        description,
        status=status,
        arguments=[description, status],
        text=f"{status} {phrase}: {description}",
        headers=headers,
    )


def session_expired() -> OdooError:
    """JSON-RPC code 100: the client must log in again."""
    return OdooError(
        "odoo.http.SessionExpiredException",
        "Session expired",
        status=403,
        rpc_code=100,
        rpc_message="Odoo Session Expired",
    )


def missing_database(db: str) -> OdooError:
    # What psycopg2 says when the registry opens a database that does not exist.
    message = (
        f'connection to server at "localhost" (127.0.0.1), port 5432 failed: '
        f'FATAL:  database "{db}" does not exist\n'
    )
    return OdooError("psycopg2.OperationalError", message)


WERKZEUG_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
WERKZEUG_DESCRIPTIONS = {
    400: "The browser (or proxy) sent a request that this server could not understand.",
    404: "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.",
    405: "The method is not allowed for the requested URL.",
    429: "This user has exceeded an allotted request count. Try again later.",
    500: "The server encountered an internal error and was unable to complete your request. Either "
    "the server is overloaded or there is an error in the application.",
    502: "The proxy server received an invalid response from an upstream server.",
    503: "The server is temporarily unable to service your request due to maintenance downtime or "
    "capacity problems. Please try again later.",
}
