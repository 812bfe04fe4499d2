"""The queries of the side-by-side harness, written once and rendered for each system.

A query is a small tree (term, phrase, and, or, and-not) so that earshot's query text, Tantivy query
objects, an SQLite FTS5 MATCH expression and a DuckDB predicate all say the same thing:

- earshot: its analyst syntax (`acme AND (outage OR down)`, `globex NOT refund`, `"customer service"`);
- tantivy-py: Query.term_query / phrase_query / boolean_query on the `text` field (default tokenizer:
  split on non-alphanumerics, lower-cased);
- SQLite FTS5: the same Boolean syntax in MATCH (unicode61 tokenizer: the same split, lower-cased);
- DuckDB: no `fts` extension here (it is downloaded at run time, and only PyPI is reachable), so a word is
  `regexp_matches(lt, '\\bword\\b')` on the lower-cased text `lt` (behind a `contains` pre-filter), and a
  phrase is `\\bw1\\W+w2\\b`. On this corpus (see corpus.py) all four tokenisations agree for every word
  queried here.

Each Case names what is measured and what answer is compared across systems (see check.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional, Union

from corpus import DAYS, START

UTC = dt.timezone.utc
WINDOW = (START, START + dt.timedelta(days=DAYS))
RANGE = (dt.datetime(2026, 10, 1, tzinfo=UTC), dt.datetime(2026, 10, 15, tzinfo=UTC))
TIME_ZONE = "Europe/Berlin"
PAGE = 20  # hits per search (earshot's default page)


@dataclass(frozen=True)
class Term:
    word: str


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]


@dataclass(frozen=True)
class And:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class AndNot:
    keep: "Node"
    drop: "Node"


Node = Union[Term, Phrase, And, Or, AndNot]


def earshot(q: Node, top: bool = True) -> str:
    if isinstance(q, Term):
        return q.word
    if isinstance(q, Phrase):
        return '"' + " ".join(q.words) + '"'
    if isinstance(q, And):
        s = " AND ".join(earshot(p, False) for p in q.parts)
    elif isinstance(q, Or):
        s = " OR ".join(earshot(p, False) for p in q.parts)
    else:
        s = f"{earshot(q.keep, False)} NOT {earshot(q.drop, False)}"
    return s if top else f"({s})"


fts5 = earshot  # FTS5 MATCH has the same Boolean syntax (AND, OR, NOT, "phrase", parentheses).


def tantivy_query(q: Node, schema):
    import tantivy

    if isinstance(q, Term):
        return tantivy.Query.term_query(schema, "text", q.word)
    if isinstance(q, Phrase):
        return tantivy.Query.phrase_query(schema, "text", list(q.words))
    if isinstance(q, And):
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy_query(p, schema)) for p in q.parts])
    if isinstance(q, Or):
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy_query(p, schema)) for p in q.parts])
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, tantivy_query(q.keep, schema)), (tantivy.Occur.MustNot, tantivy_query(q.drop, schema))]
    )


def duckdb_sql(q: Node) -> str:
    """A predicate on the lower-cased text column `lt`."""
    if isinstance(q, Term):
        return f"(contains(lt, '{q.word}') AND regexp_matches(lt, '\\b{q.word}\\b'))"
    if isinstance(q, Phrase):
        pattern = "\\W+".join(q.words)
        return f"(contains(lt, '{q.words[0]}') AND regexp_matches(lt, '\\b{pattern}\\b'))"
    if isinstance(q, And):
        return "(" + " AND ".join(duckdb_sql(p) for p in q.parts) + ")"
    if isinstance(q, Or):
        return "(" + " OR ".join(duckdb_sql(p) for p in q.parts) + ")"
    return f"({duckdb_sql(q.keep)} AND NOT {duckdb_sql(q.drop)})"


@dataclass(frozen=True)
class Case:
    """One measured row.

    kind:
    - "search": total + the PAGE newest hits (ids compared in order; created_at is unique in the corpus);
    - "count": number of matches, in `window` when given;
    - "volume": day buckets in TIME_ZONE over WINDOW (local date -> count, zero days left out);
    - "authors": top 10 authors by mentions + number of distinct authors, over WINDOW;
    - "relevance": BM25 top 10 (compared loosely: overlap of the sets, see check.py);
    - "newest": the newest hit only (page of 1).
    """

    name: str
    kind: str
    query: Node
    window: Optional[tuple[dt.datetime, dt.datetime]] = None
    limit: int = field(default=PAGE)


CASES = [
    Case("term `acme`, newest 20", "search", Term("acme")),
    Case("rare term `initech`, newest 20", "search", Term("initech")),
    Case("term `refund`, newest 20", "search", Term("refund")),
    Case('phrase `"customer service"`, newest 20', "search", Phrase(("customer", "service"))),
    Case("`acme AND outage`, newest 20", "search", And((Term("acme"), Term("outage")))),
    Case("`acme OR globex OR initech`, newest 20", "search", Or((Term("acme"), Term("globex"), Term("initech")))),
    Case("`globex NOT refund`, newest 20", "search", AndNot(Term("globex"), Term("refund"))),
    Case("`acme AND (outage OR down)`, newest 20", "search",
         And((Term("acme"), Or((Term("outage"), Term("down")))))),
    Case("newest hit of `hooli`", "newest", Term("hooli"), limit=1),
    Case("Count `acme OR globex`", "count", Or((Term("acme"), Term("globex")))),
    Case("Count `acme`, 2 weeks", "count", Term("acme"), window=RANGE),
    Case("day buckets (Berlin) of `acme`, 90 days", "volume", Term("acme"), window=WINDOW),
    Case("top 10 authors + distinct of `acme`, 90 days", "authors", Term("acme"), window=WINDOW),
    Case("relevance (BM25) top 10 `acme outage`", "relevance", And((Term("acme"), Term("outage"))), limit=10),
]


def berlin_offsets(window=WINDOW) -> list[tuple[int, int]]:
    """(from unix second, UTC offset in seconds) for each stretch of TIME_ZONE's offset inside `window`."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(TIME_ZONE)
    start, end = (int(t.timestamp()) for t in window)
    out: list[tuple[int, int]] = []
    for t in range(start, end, 3600):  # Berlin's changes fall on whole hours
        off = int(dt.datetime.fromtimestamp(t, tz).utcoffset().total_seconds())
        if not out or out[-1][1] != off:
            out.append((t, off))
    return out


def local_day(unix_s: int, offsets: list[tuple[int, int]]) -> str:
    off = offsets[0][1]
    for since, o in offsets:
        if unix_s >= since:
            off = o
    return dt.datetime.fromtimestamp(unix_s + off, UTC).strftime("%Y-%m-%d")
