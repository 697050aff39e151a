"""The public read model in PostgreSQL: listed projects (filters, Dutch full-text search) and the change log."""

from __future__ import annotations

import uuid

import asyncpg

from catalogue.service_layer.ports import CatalogueQuery, Change, Listing
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


def key(value: str) -> str:
    """How themes and municipalities are compared: case and surrounding space do not matter."""
    return value.strip().casefold()


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
                    (project_id, listed_seq, record, phases, theme_keys, municipality_keys, search)
                VALUES ($1, $2, $3, $4, $5, $9, {_SEARCH_VECTOR})
                ON CONFLICT (project_id) DO UPDATE SET
                    listed = true, record = EXCLUDED.record, phases = EXCLUDED.phases, theme_keys = EXCLUDED.theme_keys,
                    municipality_keys = EXCLUDED.municipality_keys, search = EXCLUDED.search""",
            project_id, seq, record, list(record["phases"]), [key(t) for t in record["themes"]],
            record["name"], record["summary"], f"{record['problem']}\n{record['results']}",
            [key(m) for m in record["municipalities"]],
        )

    async def remove(self, project_id: uuid.UUID) -> None:
        await self._log_change(project_id, None)
        # The row stays (unlisted) so that a project listed again keeps its place: never shown twice.
        await self._conn.execute("UPDATE catalogue_listings SET listed = false WHERE project_id = $1", project_id)

    async def page(self, query: CatalogueQuery) -> list[Listing]:
        # Only the filters in use go into the SQL, so each query gets a plan for what it asks.
        conditions: list[str] = ["listed"]
        args: list[object] = []

        def bind(value: object) -> str:
            args.append(value)
            return f"${len(args)}"

        if query.phase:
            conditions.append(f"phases @> ARRAY[{bind(query.phase)}::text]")
        if query.theme:
            conditions.append(f"theme_keys @> ARRAY[{bind(key(query.theme))}::text]")
        if query.municipality:
            conditions.append(f"municipality_keys @> ARRAY[{bind(key(query.municipality))}::text]")
        if query.text:
            conditions.append(f"search @@ websearch_to_tsquery('dutch', dutch_search_text({bind(query.text)}))")
        if query.after is not None:
            conditions.append(f"listed_seq > {bind(query.after)}::bigint")
        where = f"WHERE {' AND '.join(conditions)}"
        rows = await self._conn.fetch(
            f"SELECT listed_seq, record FROM catalogue_listings {where} ORDER BY listed_seq LIMIT {bind(query.limit)}",
            *args,
        )
        return [Listing(row["listed_seq"], row["record"]) for row in rows]

    async def changes(self, after: int, limit: int) -> list[Change]:
        rows = await self._conn.fetch(
            "SELECT seq, project_id, record, changed_at FROM catalogue_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            after, limit,
        )
        return [Change(r["seq"], r["project_id"], r["record"], r["changed_at"]) for r in rows]
