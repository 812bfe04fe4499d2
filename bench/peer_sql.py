"""SQLite FTS5 and DuckDB (in process) for the side-by-side harness.

SQLite: a table `m` (id, text, author id, created_at as Unix seconds, language, source) with an index on
created_at, and an external-content FTS5 index over `text` (unicode61 tokenizer), built in one
transaction, then `optimize`d. Berlin days come from the offsets of Europe/Berlin in the window
(computed with zoneinfo, passed in as a CASE), since SQLite has no time zones.

DuckDB: `read_json` of the file straight into a table with the lower-cased text beside the text. Without
the `fts` extension (downloaded at run time; only PyPI is reachable here) words are matched with
regular expressions on word boundaries (see queries.py) and there is no BM25: its relevance row is
skipped. Berlin days use DuckDB's ICU time zones (built into the Python wheel).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3

from queries import TIME_ZONE, Case, berlin_offsets, duckdb_sql, earshot


def _unix(t: dt.datetime) -> int:
    return int(t.timestamp())


class Sqlite:
    name = "SQLite FTS5"

    def load(self, corpus: str, workdir: str) -> None:
        self.db = sqlite3.connect(os.path.join(workdir, "sqlite.db"), isolation_level=None)
        db = self.db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-262144")  # 256 MiB, like the others' writer budgets
        db.execute("""CREATE TABLE m(rid INTEGER PRIMARY KEY, id TEXT NOT NULL, text TEXT NOT NULL,
                      author TEXT NOT NULL, created_at INTEGER NOT NULL, language TEXT, source TEXT)""")
        db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, content='m', content_rowid='rid')")
        parse = dt.datetime.fromisoformat

        def rows():
            with open(corpus, encoding="utf-8") as lines:
                for line in lines:
                    m = json.loads(line)
                    yield (m["id"], m["text"], m["author"]["id"], int(parse(m["created_at"]).timestamp()),
                           m["language"], m["source"])

        db.execute("BEGIN")
        db.executemany("INSERT INTO m(id, text, author, created_at, language, source) VALUES (?,?,?,?,?,?)", rows())
        db.execute("INSERT INTO fts(rowid, text) SELECT rid, text FROM m")
        db.execute("CREATE INDEX m_created ON m(created_at)")
        db.execute("COMMIT")
        db.execute("INSERT INTO fts(fts) VALUES('optimize')")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def count(self, n: int) -> int:
        return self.db.execute("SELECT count(*) FROM m").fetchone()[0]

    def prepare(self, case: Case):
        db = self.db
        match = earshot(case.query)  # FTS5 MATCH speaks the same Boolean syntax
        where, args = "fts MATCH ?", [match]
        if case.window:
            where += " AND m.created_at >= ? AND m.created_at < ?"
            args += [_unix(case.window[0]), _unix(case.window[1])]
        join = f"FROM fts JOIN m ON m.rid = fts.rowid WHERE {where}"
        if case.kind in ("search", "newest"):
            count_sql = f"SELECT count(*) {join}" if case.window else "SELECT count(*) FROM fts WHERE fts MATCH ?"
            hits_sql = f"SELECT m.id, m.text {join} ORDER BY m.created_at DESC LIMIT {case.limit}"

            def search():
                total = db.execute(count_sql, args if case.window else [match]).fetchone()[0]
                ids = [r[0] for r in db.execute(hits_sql, args)]
                return {"total": total, "ids": ids}
            return search
        if case.kind == "count":
            sql = f"SELECT count(*) {join}" if case.window else "SELECT count(*) FROM fts WHERE fts MATCH ?"
            a = args if case.window else [match]
            return lambda: {"count": db.execute(sql, a).fetchone()[0]}
        if case.kind == "relevance":
            sql = (f"SELECT m.id FROM (SELECT rowid, rank FROM fts WHERE fts MATCH ? ORDER BY rank "
                   f"LIMIT {case.limit}) r JOIN m ON m.rid = r.rowid ORDER BY r.rank")
            count_sql = "SELECT count(*) FROM fts WHERE fts MATCH ?"

            def relevance():
                return {"total": db.execute(count_sql, [match]).fetchone()[0],
                        "ids": [r[0] for r in db.execute(sql, [match])]}
            return relevance
        if case.kind == "volume":
            offsets = berlin_offsets(case.window)
            case_sql = "CASE " + " ".join(
                f"WHEN m.created_at >= {since} THEN {off}" for since, off in reversed(offsets)) + " END"
            sql = f"SELECT date(m.created_at + {case_sql}, 'unixepoch') d, count(*) {join} GROUP BY d"
            return lambda: {"buckets": dict(db.execute(sql, args).fetchall()), "time_zone": TIME_ZONE}
        if case.kind == "authors":
            top_sql = f"SELECT m.author, count(*) n {join} GROUP BY m.author ORDER BY n DESC, m.author LIMIT 10"
            distinct_sql = f"SELECT count(DISTINCT m.author) {join}"

            def authors():
                top = [list(r) for r in db.execute(top_sql, args)]
                return {"top": top, "distinct": db.execute(distinct_sql, args).fetchone()[0], "distinct_exact": True}
            return authors
        raise ValueError(case.kind)


class Duckdb:
    name = "DuckDB"

    def load(self, corpus: str, workdir: str) -> None:
        import duckdb

        self.db = duckdb.connect(os.path.join(workdir, "duck.db"))
        db = self.db
        db.execute("SET TimeZone = 'UTC'")
        db.execute(
            """CREATE TABLE m AS SELECT id, text, lower(text) AS lt, author.id AS author,
                   CAST(created_at AS TIMESTAMPTZ) AS created_at, language, source
               FROM read_json(?, format = 'newline_delimited',
                              columns = {id: 'VARCHAR', text: 'VARCHAR', created_at: 'TIMESTAMP',
                                         author: 'STRUCT(id VARCHAR)', language: 'VARCHAR', source: 'VARCHAR'})""",
            [corpus],
        )
        db.execute("CHECKPOINT")

    def count(self, n: int) -> int:
        return self.db.execute("SELECT count(*) FROM m").fetchone()[0]

    def prepare(self, case: Case):
        db = self.db
        where = duckdb_sql(case.query)
        args: list = []
        if case.window:
            where += " AND created_at >= ? AND created_at < ?"
            args = list(case.window)
        if case.kind in ("search", "newest"):
            count_sql = f"SELECT count(*) FROM m WHERE {where}"
            hits_sql = f"SELECT id, text FROM m WHERE {where} ORDER BY created_at DESC LIMIT {case.limit}"

            def search():
                total = db.execute(count_sql, args).fetchone()[0]
                return {"total": total, "ids": [r[0] for r in db.execute(hits_sql, args).fetchall()]}
            return search
        if case.kind == "count":
            sql = f"SELECT count(*) FROM m WHERE {where}"
            return lambda: {"count": db.execute(sql, args).fetchone()[0]}
        if case.kind == "relevance":
            return None  # BM25 needs the fts extension
        if case.kind == "volume":
            sql = (f"SELECT strftime(timezone('{TIME_ZONE}', created_at), '%Y-%m-%d') d, count(*) FROM m "
                   f"WHERE {where} GROUP BY d")
            return lambda: {"buckets": dict(db.execute(sql, args).fetchall()), "time_zone": TIME_ZONE}
        if case.kind == "authors":
            sql = (f"SELECT author, count(*) n FROM m WHERE {where} GROUP BY author ORDER BY n DESC, author LIMIT 10")
            distinct_sql = f"SELECT count(DISTINCT author) FROM m WHERE {where}"

            def authors():
                top = [list(r) for r in db.execute(sql, args).fetchall()]
                return {"top": top, "distinct": db.execute(distinct_sql, args).fetchone()[0], "distinct_exact": True}
            return authors
        raise ValueError(case.kind)
