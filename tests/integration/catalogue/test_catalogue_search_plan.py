"""Catalogue search (`q`) on 30,000 generated listings: the GIN index finds a rare term's matches (no walk of
the whole catalogue), a common term's page comes from a short walk, and pages equal plain ORDER BY ... LIMIT."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import pytest

from catalogue.adapters.catalogue import PostgresCatalogueRepository
from catalogue.service_layer.ports import CatalogueQuery
from schuldenlab.services import load_definition
from servicekit import db
from servicekit.service import apply_migrations

pytestmark = pytest.mark.integration

LISTINGS = 30_000
# Every listing: one of four project texts, a theme word for every third, a marker shared by three listings
# (rows i, i + 10,000, i + 20,000): the statistics see only common words, as in a templated catalogue.
GENERATE = """
INSERT INTO catalogue_listings (project_id, listed_seq, record, phases, theme_keys, municipality_keys, search, listed)
SELECT gen_random_uuid(), i, jsonb_build_object('name', 'Project ' || i),
       ARRAY[(ARRAY['intake', 'planning'])[1 + i % 2]],
       ARRAY[(ARRAY['jongeren', 'werk', 'wonen'])[1 + i % 3]], ARRAY['almelo'],
       setweight(to_tsvector('dutch', 'Project ' || i), 'A')
       || setweight(to_tsvector('dutch', (ARRAY['Schuldeisers en schuldhulp samen', 'Budgetcoaching aan huis',
                                                'Vroegsignalering van betalingsachterstanden',
                                                'Energiearmoede en huurachterstand'])[1 + i % 4]
                                         || ' ' || (ARRAY['jongeren', 'werkgevers', 'wijkteams'])[1 + i % 3]
                                         || ' kenmerk' || (i % 10000)), 'B'),
       i % 97 <> 0  -- some listings left the catalogue and keep their row
FROM generate_series(1, $1) AS i
"""


class Explaining:
    """A connection that answers the adapter's query with its plan (EXPLAIN ANALYZE, FORMAT JSON)."""

    def __init__(self, conn) -> None:
        self.conn, self.plan = conn, None

    async def fetch(self, sql: str, *args):
        [row] = await self.conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args)
        plan = row[0] if isinstance(row[0], list) else json.loads(row[0])  # the pool's codec may decode it
        self.plan = plan[0]["Plan"]
        return []


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


@asynccontextmanager
async def _catalogue(dsn: str):
    await apply_migrations(dsn, load_definition("catalogue"))
    conn = await db.connect(dsn, "catalogue")
    try:
        await conn.execute(GENERATE, LISTINGS)
        await conn.execute("ANALYZE catalogue_listings")
        yield conn
    finally:
        await conn.close()


async def _plan(conn, **query) -> list[dict]:
    explaining = Explaining(conn)
    await PostgresCatalogueRepository(explaining).page(CatalogueQuery(**query))
    return list(_nodes(explaining.plan))


def _seq_index_rows(nodes: list[dict]) -> list[int]:
    return [n["Actual Rows"] for n in nodes
            if n.get("Index Name") == "catalogue_listings_listed_seq_key" and n.get("Actual Loops", 0) == 1]


def _search_index_ran(nodes: list[dict]) -> bool:
    return any(n["Node Type"] == "Bitmap Index Scan" and n["Index Name"] == "catalogue_listings_search"
               and n["Actual Loops"] > 0 for n in nodes)


async def test_a_rare_or_absent_term_is_found_through_the_gin_index_without_walking_the_catalogue(fresh_database):
    async with _catalogue(fresh_database) as conn:
        for text, query in [("kenmerk1234", {}), ("onbekendwoord", {}), ("kenmerk77", {"after": 5000}),
                            ("kenmerk4321", {"theme": "werk"})]:
            nodes = await _plan(conn, text=text, **query)
            assert _search_index_ran(nodes), text
            # The listed_seq index is only walked for the bounded window (50 per item), never the catalogue.
            assert max(_seq_index_rows(nodes)) <= 50 * 20, (text, _seq_index_rows(nodes))


async def test_a_common_term_takes_its_page_from_a_short_walk_without_the_gin_index(fresh_database):
    async with _catalogue(fresh_database) as conn:
        for text in ("schuldeisers", "jongeren", "budgetcoaching werkgevers"):
            nodes = await _plan(conn, text=text)
            assert not _search_index_ran(nodes), text
            # The walk stops at the page: 20 matches of a term in at least every 12th listing, plus unlisted.
            assert max(_seq_index_rows(nodes)) <= 20 * 12 + 20, (text, _seq_index_rows(nodes))


async def _all_pages(repository, limit: int, **query) -> list[int]:
    seen, after = [], None
    while True:
        page = await repository.page(CatalogueQuery(after=after, limit=limit, **query))
        seen += [listing.position for listing in page]
        if len(page) < limit:
            return seen
        after = page[-1].position


async def test_search_pages_are_the_rows_of_a_plain_ordered_query_for_every_kind_of_term(fresh_database):
    async with _catalogue(fresh_database) as conn:
        repository = PostgresCatalogueRepository(conn)
        # The marker words thin out with the listed_seq: dense at the start, rare after, so a walk crosses
        # from the head's window into the index's matches.
        await conn.execute("""UPDATE catalogue_listings SET search = search || to_tsvector('dutch', 'zeldzaam')
                              WHERE listed_seq <= 900 OR listed_seq % 1000 = 0""")
        for text, query, limit in [("kenmerk1234", {}, 2), ("zeldzaam", {}, 20), ("zeldzaam", {}, 7),
                                   ("schuldeisers", {"phase": "intake"}, 100), ("onbekendwoord", {}, 20),
                                   ("kenmerk55 or kenmerk56", {"theme": "wonen"}, 1)]:
            expected = [r["listed_seq"] for r in await conn.fetch(
                f"""SELECT listed_seq FROM catalogue_listings
                    WHERE listed AND search @@ websearch_to_tsquery('dutch', dutch_search_text($1))
                    {"AND phases @> ARRAY['intake']" if "phase" in query else ""}
                    {"AND theme_keys @> ARRAY['wonen']" if "theme" in query else ""}
                    ORDER BY listed_seq""", text)]
            if text != "onbekendwoord":
                assert expected, text  # the generated data has matches for it
            assert await _all_pages(repository, limit, text=text, **query) == expected, (text, query, limit)
