"""What every comdirect call shares: paths, the `x-http-request-info` header and how the bank's
errors read.

`x-http-request-info: {"clientRequestId": {"sessionId": <32 hex, fixed for a login>, "requestId":
<9 digits, new per call>}}` goes on every `/api` call. The sessionId is made at login and stored
with the token pair, so every process of that login sends the same one.

Errors come as `{"code", "messages": [{"key", "message", "args"}]}` (German, `{0}` placeholders
filled from `args`), mirrored in the `x-http-response-info` header (sometimes percent-encoded),
or as the OAuth server's `{"error", "error_description"}`; some 404s have no body at all.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any
from urllib.parse import unquote

import httpx

from plumbing_dagster.kit.auth import read_oauth_error

SESSIONS = "/api/session/clients/user/v1/sessions"
BALANCES = "/api/banking/clients/user/v2/accounts/balances"
PUSH, PHOTO, SMS = "P_TAN_PUSH", "P_TAN", "M_TAN"


def new_session_id() -> str:
    return secrets.token_hex(16)


class RequestIds:
    """9-digit request ids, random (other processes of the login send theirs) and never the same
    twice in a row here."""

    def __init__(self) -> None:
        self._last = ""
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            while (value := f"{secrets.randbelow(10**9):09d}") == self._last:
                pass
            self._last = value
            return value


def request_info(session_id: str, ids: RequestIds) -> str:
    return json.dumps(
        {"clientRequestId": {"sessionId": session_id, "requestId": ids.next()}}, separators=(",", ":")
    )


def _fill(text: str, args: Any) -> str:
    if isinstance(args, dict):
        for name, value in args.items():
            text = text.replace("{" + str(name) + "}", str(value))
    elif isinstance(args, list):
        for n, value in enumerate(args):
            text = text.replace("{" + str(n) + "}", str(value))
    return text


def _messages(payload: Any) -> list[str]:
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        return []
    said = []
    for message in payload["messages"]:
        if isinstance(message, dict):
            key, text = message.get("key"), message.get("message")
            said.append(f"{key}: {_fill(str(text), message.get('args'))}" if text else str(key))
    return said


def error_code(response: httpx.Response) -> str | None:
    """The `code` of the API's error body, if there is one."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def read_error(response: httpx.Response) -> str | None:
    """One line from any of the bank's error shapes, else None (the kit then quotes the body)."""
    oauth = read_oauth_error(response)
    if oauth:
        return oauth
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    said = _messages(body)
    header = response.headers.get("x-http-response-info")
    if not said and header:
        try:
            said = _messages(json.loads(unquote(header) if header.startswith("%") else header))
        except ValueError:
            said = []
    code = body.get("code") if isinstance(body, dict) else None
    if code and said:
        return f"{code} ({'; '.join(said)})"
    if said or code:
        return "; ".join(said) or str(code)
    return None if response.content else f"no body ({response.status_code})"
