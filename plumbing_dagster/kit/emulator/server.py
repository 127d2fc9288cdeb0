"""The HTTP server every vendor emulator runs on, with injectable faults.

A vendor emulator is an app (`app.py`'s `EmulatorApp`): a function from `EmulatorRequest`
to `EmulatorResponse`. `EmulatorServer` serves any app over real HTTP on loopback (stdlib
`ThreadingHTTPServer`, so the sandbox needs no extra service) and applies the faults a test
queued: 429 with `Retry-After`, 5xx, slow answers and malformed pages, in the app's own error
shape when it has one.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8")).items()}


@dataclass
class EmulatorResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(
        cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> EmulatorResponse:
        body = json.dumps(payload, separators=(",", ":"), default=str).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})


class ServesRequests(Protocol):
    def handle(self, request: EmulatorRequest) -> EmulatorResponse: ...


FaultKind = Literal["rate_limit", "server_error", "slow", "malformed"]


@dataclass
class Fault:
    """Applied to the next `times` requests whose path starts with `path_prefix`, once `after`
    of them have been served normally (e.g. `after=1`: the second page fails)."""

    kind: FaultKind
    times: int = 1
    path_prefix: str = "/"
    retry_after: float | None = 0.05  # seconds, for rate_limit (None: no header)
    status: int = 500  # for server_error
    delay: float = 0.5  # seconds, for slow
    after: int = 0


class FaultPlan:
    """A thread-safe queue of faults; each fault is used up as it fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[tuple[FaultKind, str]] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and path.startswith(fault.path_prefix):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.times -= 1
                    self.fired.append((fault.kind, path))
                    return fault
        return None


def _apply_fault(fault: Fault, serve: Callable[[], EmulatorResponse], app: Any) -> EmulatorResponse:
    # In the vendor's own error shape when the app renders errors (an `EmulatorApp` does).
    render = getattr(app, "error", None)
    if fault.kind == "rate_limit":
        throttled = getattr(app, "throttled", None)
        response = (
            throttled()
            if throttled
            else EmulatorResponse.of_json({"error": {"code": 429, "message": "Too many requests"}}, 429)
        )
        response.headers.pop("Retry-After", None)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = f"{fault.retry_after:g}"
        return response
    if fault.kind == "server_error":
        if render:
            return render(fault.status, "server.error", "Internal error")
        return EmulatorResponse.of_json(
            {"error": {"code": fault.status, "message": "Internal error"}}, fault.status
        )
    if fault.kind == "slow":
        time.sleep(fault.delay)
        return serve()
    response = serve()  # malformed: a truncated body under a 200
    response.body = response.body[: max(1, len(response.body) // 2)]
    return response


class EmulatorServer:
    """Serves an `EmulatorApp` on `127.0.0.1:<port>` in a daemon thread.

    Use as a context manager, or `start()`/`stop()`. `url` is the base URL once started.
    """

    def __init__(self, app: ServesRequests, port: int = 0):
        self.app = app
        self.faults = FaultPlan()
        self.requests_served = 0
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        server_ref = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
            # Headers and body go out in two sends: with Nagle's algorithm on, each answer waited
            # ~40 ms for the client's delayed ACK (a test module of 24 tests took 12 s, not 2 s).
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = EmulatorRequest(
                    method=self.command,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                server_ref.requests_served += 1

                def serve() -> EmulatorResponse:
                    try:
                        return server_ref.app.handle(request)
                    except Exception:  # an emulator bug must show as a 500, not a hung client
                        logger.exception("emulator failed on %s %s", request.method, request.path)
                        return EmulatorResponse.of_json({"error": "emulator failure"}, status=500)

                fault = server_ref.faults.take(request.path)
                response = _apply_fault(fault, serve, server_ref.app) if fault else serve()
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                logger.debug("emulator: " + format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._server.daemon_threads = True
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server,), name="emulator", daemon=True
        )
        self._thread.start()
        return self

    def _serve(self, server: ThreadingHTTPServer) -> None:
        # `serve_forever` polls for its stop flag (every 0.5 s by default), so every stop waited out
        # one poll: 50 ms per emulator at 0.05 s. Here each wait ends with a connection, and `stop`
        # makes one after raising the flag.
        while not self._stopping.is_set():
            server.handle_request()  # waits for the next connection, then hands it to a thread

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        try:
            socket.create_connection(server.server_address[:2], timeout=5).close()  # wakes `_serve`
        except OSError as error:
            logger.warning("emulator at %s: could not wake it to stop (%s)", self.url, error)
        thread.join(timeout=5)
        server.server_close()
        self._server = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
