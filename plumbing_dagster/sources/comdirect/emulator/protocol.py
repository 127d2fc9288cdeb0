"""What the comdirect API reads from a request's headers and body on its session and banking
routes, and how it words a refusal.

- `x-http-request-info` on every `/api` call: `{"clientRequestId": {"sessionId", "requestId"}}`,
  sessionId 1-32 hex digits (kept for the whole login), requestId exactly 9 digits (new per
  call); otherwise 400 `request.header.invalid`. The bank's own Postman collection sends a
  dashed GUID as sessionId, so the bank may be laxer; the emulator holds clients to the rule.
- The session body of validate and PATCH: `{identifier, sessionTanActive: true, activated2FA:
  true}`; otherwise 422 `request.object.invalid`.
- `x-once-authentication-info`: optional `{"typ": ...}` on validate, exactly `{"id": ...}` on
  PATCH; otherwise 422 `UNPROCESSABLE_ONCE_AUTHENTICATION_INFO_HEADER` (as observed live when a
  client sends the whole challenge header back).
"""

from __future__ import annotations

import json
import re

from plumbing_dagster.kit.emulator import BadRequest, EmulatorRequest, EmulatorResponse
from plumbing_dagster.sources.comdirect.emulator.render import business_error, message, oauth_error
from plumbing_dagster.sources.comdirect.emulator.session import Reason

SESSION_ID = re.compile(r"[0-9a-fA-F]{1,32}")
REQUEST_ID = re.compile(r"[0-9]{9}")
ONCE_INFO = "UNPROCESSABLE_ONCE_AUTHENTICATION_INFO_HEADER"
LOCKED_TEXT = "Der Zugang zum Online-Banking ist gesperrt. Bitte wenden Sie sich an unseren Kundenservice."
TAN_INVALID = "TAN_UNGUELTIG"
PUSH_PENDING_TEXT = "TAN-Freigabe über die App wurde noch nicht erteilt."
EXPIRED_TEXT = "Der Zeitraum für die TAN-Freigabeanforderung ist abgelaufen."
HEADER_INVALID = "request.header.invalid"
OBJECT_INVALID = "request.object.invalid"
# The API's answer to each refusal: (status, code, message key, severity, German text).
API_REFUSALS: dict[Reason, tuple[int, str, str, str, str]] = {
    "locked": (422, "ZUGANG_GESPERRT", "ZUGANG_GESPERRT", "ERROR", LOCKED_TEXT),
    "tan_invalid": (400, TAN_INVALID, TAN_INVALID, "ERROR", "Die TAN ist ungültig."),
    "push_pending": (400, TAN_INVALID, "PUSHTAN_ANGEFORDERT", "INFO", PUSH_PENDING_TEXT),
    "push_denied": (400, TAN_INVALID, "PUSHTAN_ABGELEHNT", "ERROR", "Die TAN-Freigabe wurde abgelehnt."),
    "challenge_expired": (422, "expired", "expired", "ERROR", EXPIRED_TEXT),
    "unknown_challenge": (422, ONCE_INFO, ONCE_INFO, "ERROR", "Die TAN-Anforderung ist unbekannt."),
    "tan_type": (422, ONCE_INFO, ONCE_INFO, "ERROR", "Das TAN-Verfahren ist nicht verfügbar."),
    "already_active": (422, OBJECT_INVALID, OBJECT_INVALID, "ERROR", "Die Session-TAN ist bereits aktiv."),
    "session_id": (400, HEADER_INVALID, "sessionId.invalid", "ERROR", "Die sessionId passt nicht."),
    "request_id": (400, HEADER_INVALID, "requestId.invalid", "ERROR", "Die requestId ist nicht neu."),
}


def refusal(reason: Reason) -> EmulatorResponse:
    """The API's answer when the bank refuses a step (the token endpoint words its own)."""
    if reason == "invalid_token":
        return oauth_error(401, "invalid_token", "Invalid or expired access token")
    if reason == "insufficient_scope":
        return oauth_error(403, "insufficient_scope", "Insufficient scope for this resource")
    status, code, key, severity, text = API_REFUSALS[reason]
    return business_error(status, code, [message(key, text, severity=severity)])


def _header_problem(name: str, text: str) -> BadRequest:
    return BadRequest(
        text, status=400, key=HEADER_INVALID, details={"key": f"{name}.invalid", "origin": [name]}
    )


def request_info(request: EmulatorRequest) -> tuple[str, str]:
    """(sessionId, requestId) of `x-http-request-info`; 400 when missing or malformed."""
    name = "x-http-request-info"
    try:
        info = json.loads(request.header(name) or "")["clientRequestId"]
        session_id, request_id = info["sessionId"], info["requestId"]
    except (ValueError, TypeError, KeyError):
        raise _header_problem(name, "Der Header x-http-request-info fehlt oder ist ungültig.") from None
    if not (isinstance(session_id, str) and SESSION_ID.fullmatch(session_id)):
        raise _header_problem(name, "Die sessionId muss aus höchstens 32 Hexadezimalzeichen bestehen.")
    if not (isinstance(request_id, str) and REQUEST_ID.fullmatch(request_id)):
        raise _header_problem(name, "Die requestId muss aus genau 9 Ziffern bestehen.")
    return session_id, request_id


def check_session_body(request: EmulatorRequest, identifier: str) -> None:
    """The body of validate and PATCH: the session itself, asking for the session TAN."""
    try:
        body = request.json()
    except ValueError:
        body = None
    wanted = {"identifier": identifier, "sessionTanActive": True, "activated2FA": True}
    wrong = [k for k, v in wanted.items() if not isinstance(body, dict) or body.get(k) != v]
    if wrong:
        raise BadRequest(
            "Das Session-Objekt ist ungültig.",
            status=422,
            key=OBJECT_INVALID,
            details={"origin": wrong},
        )


def once_info(request: EmulatorRequest, field: str, *, required: bool) -> str | None:
    """`x-once-authentication-info`: `{"typ": ...}` on validate (optional), exactly `{"id": ...}`
    on PATCH (the whole challenge header sent back is refused, as by the bank)."""
    raw = request.header("x-once-authentication-info")
    if raw is None and not required:
        return None
    try:
        info = json.loads(raw or "")
    except ValueError:
        info = None
    value = info.get(field) if isinstance(info, dict) else None
    if not isinstance(value, str) or (required and set(info) != {field}):
        raise BadRequest(
            "Der Header x-once-authentication-info ist ungültig.",
            status=422,
            key=ONCE_INFO,
            details={"origin": ["x-once-authentication-info"]},
        )
    return value
