"""The Jira reporting schema (seed 002), built in PostgreSQL from the staged streams.

A day's staging holds the issues whose last update fell in that day, each with its whole
changelog, links and bridges as they were when the day was read. The marts keep, of every issue,
only its *current* version — the newest day it was landed in (`issues__current`) — and put it,
with everything that hangs off it, in that day's partition:

- `issues`: current issues, with their project's name;
- `changelog`: every change item of the current issues (each item once across the mart, since an
  issue's whole history is in its current day);
- `issue_links`, `issue_labels`, `issue_components`, `issue_fix_versions`: links and bridges;
- `status_history`: one row per stay of an issue in a status, with when it entered and left it
  and the seconds it spent there (the last stay is open: `left_at` null, `is_current`).

A partition is replaced whole when its day runs. When a later day lands a newer version of an
issue, that day's run also removes the issue's rows from the older days (`one_day_per`, in the same
transaction), so each issue is in one day of every mart; re-running the older day leaves it out.

Checks: each mart's rows point to a current issue, and no staged row of the day lacks its issue
(the marts' joins would drop it silently); `issues` has one row per issue and a known project;
every current issue has a status history.
"""

from __future__ import annotations

from collections.abc import Callable

from plumbing_dagster.kit import Mart, MartCheck, MartQuery
from plumbing_dagster.tables import PARTITION_COLUMN, quote

PART = quote(PARTITION_COLUMN)
WAREHOUSE = "postgres"


def _of_current_issue(q: MartQuery, alias: str, table_alias: str) -> str:
    """Join condition: the row belongs to the current version of its issue."""
    return (
        f"JOIN {q.current('issues')} AS {alias} "
        f"ON {alias}.id = {table_alias}.issue_id AND {alias}.{PART} = {table_alias}.{PART}"
    )


def _issues(q: MartQuery) -> str:
    return f"""
        SELECT c.*, p.name AS project_name
        FROM {q.current("issues")} AS c
        LEFT JOIN {q.current("projects")} AS p ON p.id = c.project_id
        WHERE {q.in_window("c")}
        ORDER BY c.id"""


def _changelog(q: MartQuery) -> str:
    return f"""
        SELECT s.history_id, s.item_index, s.issue_id, c.key AS issue_key, s.created, s.author,
               s.field, s.field_type, s.from_value, s.from_string, s.to_value, s.to_string, s.{PART}
        FROM {q.stream("changelog_items")} AS s {_of_current_issue(q, "c", "s")}
        WHERE {q.in_window("s")}
        ORDER BY s.issue_id, s.created, s.history_id, s.item_index"""


def _links(q: MartQuery) -> str:
    return f"""
        SELECT s.link_id, s.issue_id, c.key AS issue_key, s.direction, s.link_type, s.relation,
               s.other_issue_id, coalesce(o.key, s.other_issue_key) AS other_issue_key,
               o.id IS NOT NULL AS other_issue_landed, s.{PART}
        FROM {q.stream("issue_links")} AS s {_of_current_issue(q, "c", "s")}
        LEFT JOIN {q.current("issues")} AS o ON o.id = s.other_issue_id
        WHERE {q.in_window("s")}
        ORDER BY s.issue_id, s.link_id"""


def _bridge(stream: str, columns: str, order: str) -> Callable[[MartQuery], str]:
    def sql(q: MartQuery) -> str:
        return f"""
            SELECT s.issue_id, c.key AS issue_key, {columns}, s.{PART}
            FROM {q.stream(stream)} AS s {_of_current_issue(q, "c", "s")}
            WHERE {q.in_window("s")}
            ORDER BY s.issue_id, {order}"""

    return sql


def _status_history(q: MartQuery) -> str:
    return f"""
        WITH current_issues AS (
            SELECT id, key, created, status, {PART} FROM {q.current("issues")} WHERE {q.in_window()}
        ), moves AS (
            SELECT s.issue_id, s.created AS at, s.from_string, s.to_string,
                   row_number() OVER (PARTITION BY s.issue_id
                                      ORDER BY s.created, s.history_id, s.item_index) AS n
            FROM {q.stream("changelog_items")} AS s
            JOIN current_issues AS c ON c.id = s.issue_id AND c.{PART} = s.{PART}
            WHERE s.field = 'status' AND coalesce(s.field_type, 'jira') = 'jira'
        ), stays AS (
            SELECT c.id AS issue_id, 0 AS n, coalesce(m.from_string, c.status) AS status,
                   c.created AS entered_at
            FROM current_issues AS c LEFT JOIN moves AS m ON m.issue_id = c.id AND m.n = 1
            UNION ALL
            SELECT issue_id, n, to_string, at FROM moves
        )
        SELECT v.issue_id, c.key AS issue_key, v.n + 1 AS visit, v.status, v.entered_at,
               lead(v.entered_at) OVER w AS left_at,
               extract(epoch FROM lead(v.entered_at) OVER w - v.entered_at)::double precision
                   AS seconds_in_status,
               lead(v.entered_at) OVER w IS NULL AS is_current, c.{PART}
        FROM stays AS v JOIN current_issues AS c ON c.id = v.issue_id
        WINDOW w AS (PARTITION BY v.issue_id ORDER BY v.n)
        ORDER BY v.issue_id, visit"""


def _integrity(mart: str, stream: str, extra: Callable[[MartQuery], str] | None = None) -> MartCheck:
    """Rows point to a current issue; staged rows to an issue of their day. `extra`: more counts."""

    def sql(q: MartQuery) -> str:
        return f"""
            SELECT (SELECT count(*) FROM {q.mart(mart)} WHERE {q.in_window()}) AS mart_rows,
                   (SELECT count(*) FROM {q.mart(mart)} AS m WHERE {q.in_window("m")} AND NOT EXISTS (
                        SELECT 1 FROM {q.current("issues")} AS c
                        WHERE c.id = m.issue_id AND c.{PART} = m.{PART})) AS rows_without_current_issue,
                   (SELECT count(*) FROM {q.stream(stream)} AS s WHERE {q.in_window("s")} AND NOT EXISTS (
                        SELECT 1 FROM {q.stream("issues")} AS i
                        WHERE i.id = s.issue_id AND i.{PART} = s.{PART})) AS staged_rows_without_issue
                   {extra(q) if extra else ""}"""

    return MartCheck(
        name="referential_integrity",
        description=f"Every {mart} row points to a current issue, and no staged {stream} row of the "
        "day lacks its issue (the mart's join would drop it unseen).",
        sql=sql,
        passed=lambda c: c["rows_without_current_issue"] == 0 and c["staged_rows_without_issue"] == 0,
    )


def _issue_checks() -> tuple[MartCheck, ...]:
    def sql(q: MartQuery) -> str:
        return f"""
            SELECT count(*) AS issues, count(*) - count(DISTINCT id) AS duplicate_issues,
                   count(*) FILTER (WHERE project_name IS NULL) AS issues_without_known_project,
                   count(*) FILTER (WHERE id IN (
                       SELECT id FROM {q.mart("issues")} WHERE NOT ({q.in_window()})
                   )) AS issues_also_in_another_day
            FROM {q.mart("issues")} WHERE {q.in_window()}"""

    return (
        MartCheck(
            name="one_row_per_issue_in_a_known_project",
            description="Each current issue once, in one day only, and its project in the projects snapshot.",
            sql=sql,
            passed=lambda c: (
                c["duplicate_issues"] == 0
                and c["issues_without_known_project"] == 0
                and c["issues_also_in_another_day"] == 0
            ),
        ),
    )


def _status_checks() -> tuple[MartCheck, ...]:
    def sql(q: MartQuery) -> str:
        return f"""
            SELECT (SELECT count(*) FROM {q.current("issues")} AS c WHERE {q.in_window("c")} AND NOT EXISTS (
                        SELECT 1 FROM {q.mart("status_history")} AS h
                        WHERE h.issue_id = c.id AND h.{PART} = c.{PART})) AS issues_without_history,
                   (SELECT count(*) FROM {q.mart("status_history")} WHERE {q.in_window()}
                        AND (left_at < entered_at OR (is_current AND left_at IS NOT NULL))) AS bad_stays,
                   (SELECT count(*) FROM {q.mart("status_history")} WHERE {q.in_window()}
                        AND is_current) AS open_stays"""

    return (
        MartCheck(
            name="every_issue_has_its_status_history",
            description="Every current issue has status stays, in order, ending in one open stay.",
            sql=sql,
            passed=lambda c: c["issues_without_history"] == 0 and c["bad_stays"] == 0,
        ),
        _integrity("status_history", "changelog_items"),
    )


def _links_not_landed(q: MartQuery) -> str:
    """Links whose other side is not landed (another scope, or a day not run yet): counted, allowed."""
    return (
        f", (SELECT count(*) FROM {q.mart('issue_links')} WHERE {q.in_window()} "
        "AND NOT other_issue_landed) AS links_to_issues_not_landed"
    )


# Rows of an issue follow it to the day its newest version was landed (`Mart.one_day_per`).
BY_ISSUE = ("issue_id", "issues")

MARTS = (
    Mart(
        name="issues",
        reads=("issues", "projects"),
        warehouse=WAREHOUSE,
        sql=_issues,
        one_day_per=("id", "issues"),  # the issue itself
        description="Current issues: the newest version of each issue, in the partition of the day it "
        "was landed, with its project's name.",
        checks=_issue_checks(),
    ),
    Mart(
        name="changelog",
        reads=("issues", "changelog_items"),
        warehouse=WAREHOUSE,
        sql=_changelog,
        one_day_per=BY_ISSUE,
        description="Every change item of the current issues (history id + item index), oldest first.",
        checks=(_integrity("changelog", "changelog_items"),),
    ),
    Mart(
        name="issue_links",
        reads=("issues", "issue_links"),
        warehouse=WAREHOUSE,
        sql=_links,
        one_day_per=BY_ISSUE,
        description="Links of the current issues, one row per link and issue, direction kept; "
        "`other_issue_landed` says whether the issue on the other side has been landed.",
        checks=(_integrity("issue_links", "issue_links", extra=_links_not_landed),),
    ),
    Mart(
        name="issue_labels",
        reads=("issues", "issue_labels"),
        warehouse=WAREHOUSE,
        one_day_per=BY_ISSUE,
        sql=_bridge("issue_labels", "s.label", "s.label"),
        description="Bridge: the labels of the current issues.",
        checks=(_integrity("issue_labels", "issue_labels"),),
    ),
    Mart(
        name="issue_components",
        reads=("issues", "issue_components"),
        warehouse=WAREHOUSE,
        one_day_per=BY_ISSUE,
        sql=_bridge("issue_components", "s.component_id, s.component", "s.component_id"),
        description="Bridge: the components of the current issues.",
        checks=(_integrity("issue_components", "issue_components"),),
    ),
    Mart(
        name="issue_fix_versions",
        reads=("issues", "issue_fix_versions"),
        warehouse=WAREHOUSE,
        one_day_per=BY_ISSUE,
        sql=_bridge(
            "issue_fix_versions", "s.version_id, s.version, s.released, s.release_date", "s.version_id"
        ),
        description="Bridge: the fix versions of the current issues.",
        checks=(_integrity("issue_fix_versions", "issue_fix_versions"),),
    ),
    Mart(
        name="status_history",
        reads=("issues", "changelog_items"),
        warehouse=WAREHOUSE,
        sql=_status_history,
        one_day_per=BY_ISSUE,
        description="Time in each status per issue: one row per stay of a current issue in a status "
        "(`entered_at`, `left_at`, `seconds_in_status`); the last stay is open (`is_current`).",
        checks=_status_checks(),
    ),
)
