"""The public read model in PostgreSQL: listed projects (filters, Dutch full-text search) and the change log."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from catalogue.service_layer.ports import CatalogueQuery, Change, Listing, ListingText
from servicekit.db import advisory_lock_key

# Every writer of the change log holds this lock until it commits, so a larger seq always commits
# later: a reader that has seen seq N can never later find a smaller seq appear (no skipped changes,
# no skipped listings in cursor pagination). Only changes to listed projects take it.
_CHANGE_LOCK = advisory_lock_key("catalogue.changes")

# Name weighs most, then the summary, then problem and results.
_SEARCH_VECTOR = """
    setweight(to_tsvector('dutch', dutch_search_text($6)), 'A')
    || setweight(to_tsvector('dutch', dutch_search_text($7)), 'B')
    || setweight(to_tsvector('dutch', dutch_search_text($8)), 'C')"""


# A search page (`q`) in one statement that holds for rare and common terms alike (issue 13). Ordering by
# listed_seq and stopping at the page is cheap when many listings match, ruinous when few do: the walk then
# reads the whole catalogue, and the planner cannot know beforehand (its estimate of a term's frequency
# comes from a sample). So the statement tries both, each bounded:
# - head: the next {window} listings in catalogue order; if they hold a whole page of matches, that is the
#   page (a common term: found within a few dozen rows);
# - matches: otherwise (a rare term) the GIN index on `search` finds every match, and only those are
#   ordered. MATERIALIZED and without ORDER BY or a range inside, so the planner cannot turn it into a
#   filtered walk of the listed_seq index; the cursor applies to the few matches outside.
# Which branch runs is decided by the executor (the one-time filters on the head's count), not by
# estimates. Either way the page is the first `limit` matches after the cursor in listed_seq order, the
# same rows the plain ORDER BY ... LIMIT gives. The window grows with the page size, so that a term dense
# enough to fill the page within it is not sent to the index.
_SEARCH_WINDOW_PER_ITEM = 50
_SEARCH_PAGE = """
    WITH head AS (
        SELECT listed_seq FROM (
            SELECT * FROM catalogue_listings WHERE listed AND {cursor} ORDER BY listed_seq LIMIT {window}
        ) AS window_rows
        WHERE {matching}
        ORDER BY listed_seq LIMIT {limit}
    ), matches AS MATERIALIZED (
        SELECT listed_seq FROM catalogue_listings WHERE {matching}
    ), page AS (
        SELECT listed_seq FROM head WHERE (SELECT count(*) FROM head) = {limit}
        UNION ALL
        (SELECT listed_seq FROM matches WHERE (SELECT count(*) FROM head) < {limit} AND {cursor}
         ORDER BY listed_seq LIMIT {limit})
    )
    SELECT {columns}
    FROM page JOIN catalogue_listings AS listing USING (listed_seq)
    ORDER BY listing.listed_seq"""


def key(value: str) -> str:
    """How themes and municipalities are compared: case and surrounding space do not matter."""
    return value.strip().casefold()


def _binder(args: list[object]):
    """A function that adds a value to `args` and answers its placeholder ($1, $2, ...)."""
    def bind(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    return bind


def _matching(query: CatalogueQuery, bind) -> list[str]:
    """The conditions a listing meets for the query's filters and text (not its cursor or limit): one place for
    the page and its count. Only the filters in use go into the SQL, so each query gets a plan for what it asks."""
    conditions: list[str] = ["listed"]
    if query.phase:
        conditions.append(f"phases @> ARRAY[{bind(query.phase)}::text]")
    if query.theme:
        conditions.append(f"theme_keys @> ARRAY[{bind(key(query.theme))}::text]")
    if query.municipality:
        conditions.append(f"municipality_keys @> ARRAY[{bind(key(query.municipality))}::text]")
    if query.evidence_level:
        conditions.append(f"evidence_level = {bind(query.evidence_level)}")
    if not query.include_expired:
        conditions.append("(valid_until IS NULL OR valid_until > now())")  # by the clock: no event needed
    if query.text:
        conditions.append(f"search @@ websearch_to_tsquery('dutch', dutch_search_text({bind(query.text)}))")
    return conditions


def _rating_columns(record: dict) -> tuple[str | None, datetime | None]:
    rating = record.get("rating") or {}
    valid_until = rating.get("valid_until")
    return rating.get("evidence_level"), datetime.fromisoformat(valid_until) if valid_until else None


class PostgresCatalogueRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def _log_change(self, project_id: uuid.UUID, record: dict | None) -> int:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _CHANGE_LOCK)
        return await self._conn.fetchval(
            "INSERT INTO catalogue_changes (project_id, record) VALUES ($1, $2) RETURNING seq", project_id, record,
        )

    async def put(self, project_id: uuid.UUID, record: dict) -> None:
        seq = await self._log_change(project_id, record)
        await self._conn.execute(
            f"""INSERT INTO catalogue_listings
                    (project_id, listed_seq, record, phases, theme_keys, municipality_keys, search, evidence_level,
                     valid_until)
                VALUES ($1, $2, $3, $4, $5, $9, {_SEARCH_VECTOR}, $10, $11)
                ON CONFLICT (project_id) DO UPDATE SET
                    listed = true, record = EXCLUDED.record, phases = EXCLUDED.phases, theme_keys = EXCLUDED.theme_keys,
                    municipality_keys = EXCLUDED.municipality_keys, search = EXCLUDED.search,
                    evidence_level = EXCLUDED.evidence_level, valid_until = EXCLUDED.valid_until""",
            project_id, seq, record, list(record["phases"]), [key(t) for t in record["themes"]],
            record["name"], record["summary"], f"{record['problem']}\n{record['results']}",
            [key(m) for m in record["municipalities"]],
            *_rating_columns(record),
        )

    async def remove(self, project_id: uuid.UUID) -> None:
        await self._log_change(project_id, None)
        # The row stays (unlisted) so that a project listed again keeps its place: never shown twice.
        await self._conn.execute("UPDATE catalogue_listings SET listed = false WHERE project_id = $1", project_id)

    @staticmethod
    def _page_statement(query: CatalogueQuery, columns: str) -> tuple[str, list[object]]:
        """The SELECT of one page, answering `columns` of the page's listings (`listing` in a search)."""
        args: list[object] = []
        bind = _binder(args)
        conditions = _matching(query, bind)
        cursor = f"listed_seq > {bind(query.after)}::bigint" if query.after is not None else "true"
        if query.text:
            sql = _SEARCH_PAGE.format(matching=" AND ".join(conditions), cursor=cursor, limit=bind(query.limit),
                                      window=bind(_SEARCH_WINDOW_PER_ITEM * query.limit), columns=columns)
        else:
            sql = (f"SELECT {columns} FROM catalogue_listings AS listing "
                   f"WHERE {' AND '.join([*conditions, cursor])} ORDER BY listed_seq LIMIT {bind(query.limit)}")
        return sql, args

    async def page(self, query: CatalogueQuery) -> list[Listing]:
        sql, args = self._page_statement(query, "listing.listed_seq, listing.record")
        rows = await self._conn.fetch(sql, *args)
        return [Listing(row["listed_seq"], row["record"]) for row in rows]

    async def page_text(self, query: CatalogueQuery) -> list[ListingText]:
        """The same page with each record as PostgreSQL's JSON text, so an answer need not parse and write it again.

        `rating_ran_out` from the valid_until column `put` keeps beside the record, compared with the same clock
        as the filter on it (and status_now).
        """
        sql, args = self._page_statement(query, "listing.listed_seq, listing.record::text AS record_text, "
                                                "coalesce(listing.valid_until <= now(), false) AS ran_out")
        rows = await self._conn.fetch(sql, *args)
        return [ListingText(row["listed_seq"], row["record_text"], row["ran_out"]) for row in rows]

    async def count(self, query: CatalogueQuery) -> int:
        """How many listings match the query's filters and text, whatever its cursor and limit (the website's
        number of results); the text goes through the GIN index on `search`, the filters through their arrays."""
        args: list[object] = []
        conditions = _matching(query, _binder(args))
        return await self._conn.fetchval(f"SELECT count(*) FROM catalogue_listings WHERE {' AND '.join(conditions)}",
                                         *args)

    async def changes(self, after: int, limit: int) -> list[Change]:
        rows = await self._conn.fetch(
            "SELECT seq, project_id, record, changed_at FROM catalogue_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            after, limit,
        )
        return [Change(r["seq"], r["project_id"], r["record"], r["changed_at"]) for r in rows]
