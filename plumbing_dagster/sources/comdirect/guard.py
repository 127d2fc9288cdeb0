"""What a comdirect login may do and what it tells the person: the rules that keep a login from
locking online banking (see `login.py`), the login's request, its outcome, and its failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plumbing_dagster.sources.comdirect.api import PHOTO, SMS
from plumbing_dagster.sources.comdirect.store import Guard

LOCKED = (
    "comdirect: online banking is locked (ZUGANG_GESPERRT); only the bank can unlock it "
    "(comdirect customer service). No further login will be attempted."
)
CHALLENGES_TO_LOCK, WRONG_TANS_TO_LOCK, WRONG_PINS_TO_LOCK = 5, 3, 3
CAREFUL_CHALLENGES, CAREFUL_WRONG_TANS, CAREFUL_WRONG_PINS = 2, 1, 1
TAN_WAIT = 300.0  # seconds a TAN challenge is good for (the bank's figure is unconfirmed)


class LoginRefused(RuntimeError):
    """The client refuses to start a login; nothing was sent to the bank."""


class LoginFailed(RuntimeError):
    """A login ended without a session; the message says why and what to do next."""


@dataclass(frozen=True)
class LoginRequest:
    tan_type: str | None = None  # None: push-TAN if the customer has it, else their own method
    tan: str | None = None  # a job's second run: the TAN for the waiting challenge
    push_timeout: float = 120.0
    override: bool = False
    counts_reset: bool = False


@dataclass(frozen=True)
class Challenge:
    id: str
    typ: str
    content: str | None  # P_TAN: a base64 PNG; M_TAN: the masked phone number
    link: str | None  # push: the status resource


@dataclass(frozen=True)
class LoginResult:
    status: str  # active | already_active | tan_needed
    tan_type: str | None = None
    valid_for: float | None = None
    challenge: Challenge | None = None

    def metadata(self) -> dict[str, Any]:
        """What the run shows: never a token, a sessionId or a TAN."""
        if self.status == "tan_needed" and self.challenge is not None:
            shown: dict[str, Any] = {
                "session": "waiting for the TAN",
                "tan_type": self.tan_type,
                "next": f"within {TAN_WAIT / 60:.0f} minutes, launch comdirect_login again with run "
                "config tan: <the TAN>",
            }
            if self.tan_type == SMS:
                shown["challenge"] = f"SMS-TAN sent to {self.challenge.content}"
            elif self.tan_type == PHOTO:
                shown["challenge"] = "scan the photoTAN image (photo_tan_png, a base64 PNG) with the app"
                shown["photo_tan_png"] = self.challenge.content or ""
            return shown
        said = "active" if self.status == "active" else "already active (refreshed; no challenge sent)"
        shown = {"session": said, "valid_for_seconds": round(self.valid_for or 0)}
        if self.tan_type:
            shown["tan_type"] = self.tan_type
        return shown


def refusal(guard: Guard, override: bool) -> str | None:
    """Why a login must not start with these counts, or None."""
    counts = (
        f"{guard.challenges} challenge(s) without a successful login, {guard.wrong_tans} wrong TAN(s) "
        f"and {guard.wrong_pins} wrong PIN(s) since the last successful login"
    )
    if (
        guard.challenges + 1 >= CHALLENGES_TO_LOCK
        or guard.wrong_tans + 1 >= WRONG_TANS_TO_LOCK
        or guard.wrong_pins + 1 >= WRONG_PINS_TO_LOCK
    ):
        return (
            f"comdirect login refused: {counts}; one more failure would lock online banking. Log in "
            "once in the comdirect app or website (the bank then resets its counts), then run "
            "comdirect_login with counts_reset: true."
        )
    careful = (
        guard.challenges >= CAREFUL_CHALLENGES
        or guard.wrong_tans >= CAREFUL_WRONG_TANS
        or guard.wrong_pins >= CAREFUL_WRONG_PINS
    )
    if careful and not override:
        return (
            f"comdirect login refused without override: {counts} (the bank locks online banking at "
            f"{CHALLENGES_TO_LOCK} challenges, {WRONG_TANS_TO_LOCK} wrong TANs or {WRONG_PINS_TO_LOCK} "
            "wrong PINs). When you are ready to answer, run comdirect_login with override: true."
        )
    return None
