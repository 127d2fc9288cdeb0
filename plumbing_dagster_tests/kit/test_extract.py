"""A record whose cursor cannot be placed in a day stops the read, saying where it was."""

from __future__ import annotations

from datetime import date

import pytest

from plumbing_dagster.config import StreamConfig
from plumbing_dagster.kit import ClientFilter, Endpoint, Window
from plumbing_dagster.kit.extract import CursorError, fetch_stream

CONFIG = StreamConfig.model_validate(
    {
        "stream": "orders",
        "sync_mode": "incremental",
        "destination_sync_mode": "append",
        "primary_key": [["id"]],
        "cursor_field": ["updated_at"],
        "fields": {"id": {"type": "integer"}, "updated_at": {"type": "string", "format": "date-time"}},
    }
)
PAGES = [
    [{"id": 1, "updated_at": "2026-11-01T10:00:00Z"}],
    [{"id": 2, "updated_at": "2026-11-01T11:00:00Z"}, {"id": 7, "updated_at": "yesterday"}],
]


def test_a_bad_cursor_names_the_stream_page_and_record() -> None:
    endpoint = Endpoint(
        "orders", lambda client, extract: iter(PAGES), ("id",), {"updated_at": ClientFilter()}
    )
    pages = fetch_stream(endpoint, None, CONFIG, Window.for_day(date(2026, 11, 1)))
    with pytest.raises(CursorError) as error:
        list(pages)
    assert str(error.value) == (
        "orders, page 2 of the read: record id=7 has updated_at='yesterday', not an ISO 8601 date-time"
    )
