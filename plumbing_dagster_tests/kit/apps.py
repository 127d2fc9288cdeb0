"""Small emulator apps that serve one list of records in every paging style the kit knows, and
an OAuth server, on the kit's emulator base: the test bench for the kit's HTTP pieces."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from plumbing_dagster.kit.emulator import (
    BadRequest,
    EmulatorApp,
    EmulatorRequest,
    EmulatorResponse,
    Route,
    TokenIssuer,
    basic_credentials,
    bearer_token,
    int_arg,
    same_secret,
)

RECORDS = [{"id": i, "name": f"item {i}"} for i in range(1, 24)]  # 23: never a whole number of pages
CLIENT_ID, CLIENT_SECRET = "kit-client", "kit-secret-9f2e"


class PagedApp(EmulatorApp):
    """`/link`, `/cursor`, `/pages`, `/offset` (query) and `/rpc` (offset in a JSON body), all over
    `RECORDS`. `max_page` is the most the server hands out whatever the client asks (servers lower
    page sizes); a bearer token is required when `issuer` is given."""

    def __init__(
        self,
        records: Sequence[dict[str, Any]] = RECORDS,
        max_page: int = 10,
        issuer: TokenIssuer | None = None,
    ):
        super().__init__()
        self.records = list(records)
        self.max_page = max_page
        self.issuer = issuer

    def routes(self) -> Sequence[Route]:
        return [
            Route("GET", "/link", self._link, "link"),
            Route("GET", "/cursor", self._cursor, "cursor"),
            Route("GET", "/pages", self._pages, "pages"),
            Route("GET", "/offset", self._offset, "offset"),
            Route("POST", "/rpc", self._rpc, "rpc"),
        ]

    def authorize(self, request: EmulatorRequest, route: Route) -> EmulatorResponse | None:
        if self.issuer is None:
            return None
        problem = self.issuer.check(bearer_token(request.header("Authorization")))
        return None if problem is None else self.error(401, f"token.{problem}", f"token {problem}")

    def _size(self, asked: int) -> int:
        return min(asked, self.max_page)

    def _link(self, request: EmulatorRequest) -> EmulatorResponse:
        page = int_arg(request, "page", 1, 1)
        size = self.max_page
        chunk = self.records[(page - 1) * size : page * size]
        more = page * size < len(self.records)
        host = request.header("host")
        next_link = {"href": f"http://{host}/link?page={page + 1}"} if more else None
        return EmulatorResponse.of_json({"data": chunk, "_links": {"next": next_link}})

    def _cursor(self, request: EmulatorRequest) -> EmulatorResponse:
        start = int(request.arg("after") or 0)
        chunk = self.records[start : start + self.max_page]
        end = start + len(chunk)
        return EmulatorResponse.of_json(
            {"data": chunk, "next": str(end) if end < len(self.records) else None}
        )

    def _pages(self, request: EmulatorRequest) -> EmulatorResponse:
        page = int_arg(request, "page", 1, 1)
        size = self._size(int_arg(request, "per_page", 5, 1))
        chunk = self.records[(page - 1) * size : page * size]
        return EmulatorResponse.of_json({"data": chunk, "per_page": size, "total": len(self.records)})

    def _offset(self, request: EmulatorRequest) -> EmulatorResponse:
        start = int_arg(request, "startAt", 0, 0)
        size = self._size(int_arg(request, "maxResults", 50, 1))
        chunk = self.records[start : start + size]
        return EmulatorResponse.of_json(
            {"startAt": start, "maxResults": size, "total": len(self.records), "issues": chunk}
        )

    def _rpc(self, request: EmulatorRequest) -> EmulatorResponse:
        body = request.json()
        try:
            kwargs = body["params"]["args"][1]
        except (KeyError, IndexError, TypeError):
            raise BadRequest("expected params.args[1] with offset and limit") from None
        start, size = int_arg(kwargs, "offset", 0, 0), int_arg(kwargs, "limit", 10, 1)
        return EmulatorResponse.of_json(
            {"jsonrpc": "2.0", "id": body.get("id"), "result": self.records[start : start + size]}
        )


class OAuthApp(PagedApp):
    """`PagedApp` behind an OAuth token endpoint at `/token`: client credentials (HTTP Basic) and
    refresh tokens that rotate (the old pair stops working)."""

    def __init__(self, issuer: TokenIssuer, **kwargs: Any):
        super().__init__(issuer=issuer, **kwargs)
        self.token_requests = 0

    def routes(self) -> Sequence[Route]:
        return [Route("POST", "/token", self._token, "token", scope=None), *super().routes()]

    def _token(self, request: EmulatorRequest) -> EmulatorResponse:
        assert self.issuer is not None
        self.token_requests += 1
        form = request.form()
        if form.get("grant_type") == "refresh_token":
            if not same_secret(form.get("client_secret"), CLIENT_SECRET):
                return self._oauth_error(401, "invalid_client")
            rotated = self.issuer.rotate(form.get("refresh_token", ""))
            if rotated is None:
                return self._oauth_error(400, "invalid_grant")
            token, grant = rotated
        else:
            credentials = basic_credentials(request.header("Authorization"))
            if credentials is None or not (
                same_secret(credentials[0], CLIENT_ID) and same_secret(credentials[1], CLIENT_SECRET)
            ):
                return self._oauth_error(401, "invalid_client")
            token, grant = self.issuer.issue(form.get("scope", "").split(), refreshable=True)
        body = {"access_token": token, "token_type": "bearer", "expires_in": grant.lifetime}
        if grant.refresh_token:
            body["refresh_token"] = grant.refresh_token
        return EmulatorResponse.of_json(body)

    def _oauth_error(self, status: int, error: str) -> EmulatorResponse:
        return EmulatorResponse(
            status, json.dumps({"error": error}).encode(), {"Content-Type": "application/json"}
        )
