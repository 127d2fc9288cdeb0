"""comdirect's mart: each account's balance at the end of each bank day, reconciled with the
day's booked transactions.

A balance snapshot (stream `balances`) carries the closing balance of the bank day before it was
read. The mart's row for account A and day D holds the closing balances of D and of D-1 (each the
newest reading of that day, whichever day's snapshot gave it) and the sum of A's bookings dated D
(stream `transactions`, partition D). Where both closing balances are known, their difference must
equal the booked sum: two independent readings of the bank's balance, a day apart, explained by
the transactions landed in between. A day whose closing balances are not both known (the first
day, a day without a snapshot the morning after) says so and is not judged.
"""

from plumbing_dagster.kit import Mart, MartCheck, MartQuery
from plumbing_dagster.tables import PARTITION_COLUMN, quote

PARTITION = quote(PARTITION_COLUMN)


def _daily_balances(q: MartQuery) -> str:
    days = ", ".join(f"DATE '{day.isoformat()}'" for day in q.days)
    return f"""
        WITH readings AS (
            SELECT account_id, closing_date, closing_balance, balance_unit,
                   row_number() OVER (
                       PARTITION BY account_id, closing_date ORDER BY snapshot_at DESC
                   ) AS newest
            FROM {q.stream("balances")}
            WHERE closing_balance IS NOT NULL
        ),
        closing AS (SELECT * FROM readings WHERE newest = 1),
        booked AS (
            SELECT account_id, {PARTITION} AS day, sum(amount) AS booked_amount,
                   count(*) AS booked_transactions,
                   count(*) FILTER (WHERE NOT valuta_date_valid) AS impossible_valuta_dates
            FROM {q.stream("transactions")}
            WHERE {q.in_window()}
            GROUP BY account_id, {PARTITION}
        ),
        grid AS (
            SELECT a.account_id, d.day
            FROM (SELECT DISTINCT account_id FROM {q.stream("balances")}) AS a
            CROSS JOIN (SELECT unnest([{days}]) AS day) AS d
        )
        SELECT g.account_id,
               g.day AS balance_date,
               cur.closing_balance,
               coalesce(cur.balance_unit, prev.balance_unit) AS balance_unit,
               prev.closing_balance AS previous_closing_balance,
               coalesce(b.booked_amount, 0) AS booked_amount,
               coalesce(b.booked_transactions, 0) AS booked_transactions,
               coalesce(b.impossible_valuta_dates, 0) AS impossible_valuta_dates,
               cur.closing_balance - prev.closing_balance AS balance_change,
               cur.closing_balance - prev.closing_balance - coalesce(b.booked_amount, 0) AS unexplained,
               g.day AS {PARTITION}
        FROM grid AS g
        LEFT JOIN closing AS cur ON cur.account_id = g.account_id AND cur.closing_date = g.day
        LEFT JOIN closing AS prev ON prev.account_id = g.account_id AND prev.closing_date = g.day - 1
        LEFT JOIN booked AS b ON b.account_id = g.account_id AND b.day = g.day
        ORDER BY g.day, g.account_id"""


def _reconciled(q: MartQuery) -> str:
    return f"""SELECT count(*) AS account_days,
                      count(*) FILTER (WHERE unexplained IS NOT NULL) AS reconciled,
                      count(*) FILTER (WHERE unexplained IS NULL) AS not_judged,
                      count(*) FILTER (WHERE unexplained <> 0) AS unexplained,
                      coalesce(sum(impossible_valuta_dates), 0) AS impossible_valuta_dates
               FROM {q.mart("daily_balances")} WHERE {q.in_window()}"""


MARTS = (
    Mart(
        name="daily_balances",
        reads=("balances", "transactions"),
        warehouse="duckdb",
        sql=_daily_balances,
        description="Each account's closing balance per bank day, the day before's, and the day's booked "
        "transactions (sum, count, impossible valuta dates); `unexplained` is the change in balance the "
        "bookings do not account for (null where a closing balance is not known).",
        checks=(
            MartCheck(
                name="balance_change_matches_bookings",
                description="Where both closing balances are known, the change in balance equals the sum "
                "of the day's booked amounts (counts: reconciled, not_judged, unexplained; impossible "
                "valuta dates are counted, never a failure).",
                sql=_reconciled,
                passed=lambda c: c["unexplained"] == 0,
            ),
        ),
    ),
)
