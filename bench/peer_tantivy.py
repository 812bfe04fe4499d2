"""tantivy-py (raw Tantivy, in process) for the side-by-side harness.

Schema equivalent to what earshot's queries need: `text` (default tokenizer, positions), `id` (raw,
stored), the stored text (a hit carries its mention, as earshot's do), `author` (raw, fast: the author
id), `created_at` (date, indexed + fast), `language` and `source` (raw, fast). Bulk load: every line
added to one writer (256 MB heap, 2 threads: earshot's defaults), one commit, merges waited for.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import tantivy

from queries import TIME_ZONE, Case, berlin_offsets, local_day, tantivy_query


class Tantivy:
    name = "tantivy-py"

    def load(self, corpus: str, workdir: str) -> None:
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("text", stored=True)
        sb.add_text_field("author", fast=True, tokenizer_name="raw")
        sb.add_date_field("created_at", indexed=True, fast=True)
        sb.add_text_field("language", fast=True, tokenizer_name="raw")
        sb.add_text_field("source", fast=True, tokenizer_name="raw")
        self.schema = sb.build()
        path = os.path.join(workdir, "tantivy")
        os.makedirs(path, exist_ok=True)
        self.index = tantivy.Index(self.schema, path=path)
        writer = self.index.writer(256_000_000, 2)
        parse = dt.datetime.fromisoformat
        with open(corpus, encoding="utf-8") as lines:
            for line in lines:
                m = json.loads(line)
                writer.add_document(tantivy.Document(
                    id=m["id"], text=m["text"], author=m["author"]["id"],
                    created_at=parse(m["created_at"]), language=m["language"], source=m["source"]))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def count(self, n: int) -> int:
        return self.searcher.num_docs

    def _scoped(self, case: Case):
        q = tantivy_query(case.query, self.schema)
        if case.window is None:
            return q
        lo, hi = case.window
        rng = tantivy.Query.range_query(self.schema, "created_at", tantivy.FieldType.Date, lo, hi,
                                        include_lower=True, include_upper=False)
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, q), (tantivy.Occur.Must, rng)])

    def prepare(self, case: Case):
        """A function answering `case` (built once, called many times)."""
        s = self.searcher
        q = self._scoped(case)
        if case.kind in ("search", "newest"):
            def search():
                r = s.search(q, limit=case.limit, order_by_field="created_at")
                docs = [s.doc(addr).to_dict() for _, addr in r.hits]
                return {"total": r.count, "ids": [d["id"][0] for d in docs]}
            return search
        if case.kind == "count":
            # tantivy-py exposes no count-only collector; a value_count aggregation is its cheapest count.
            agg = {"n": {"value_count": {"field": "created_at"}}}
            return lambda: {"count": int(s.aggregate(q, agg)["n"]["value"])}
        if case.kind == "relevance":
            def relevance():
                r = s.search(q, limit=case.limit)
                return {"total": r.count, "ids": [s.doc(addr).to_dict()["id"][0] for _, addr in r.hits]}
            return relevance
        if case.kind == "volume":
            # Tantivy's date_histogram takes one fixed offset; Berlin changes its offset inside the window,
            # so one day histogram per stretch of constant offset (bounded by a range), merged by local date.
            parts = []
            end = int(case.window[1].timestamp())
            stretches = berlin_offsets(case.window)
            for i, (since, off) in enumerate(stretches):
                until = stretches[i + 1][0] if i + 1 < len(stretches) else end
                rng = tantivy.Query.range_query(
                    self.schema, "created_at", tantivy.FieldType.Date, dt.datetime.fromtimestamp(since, dt.timezone.utc),
                    dt.datetime.fromtimestamp(until, dt.timezone.utc), include_lower=True, include_upper=False)
                scoped = tantivy.Query.boolean_query([(tantivy.Occur.Must, q), (tantivy.Occur.Must, rng)])
                agg = {"d": {"date_histogram": {"field": "created_at", "fixed_interval": "1d",
                                                "offset": f"{-off}s", "min_doc_count": 1}}}
                parts.append((scoped, agg, off))

            def volume():
                days: dict[str, int] = {}
                for scoped, agg, off in parts:
                    for b in s.aggregate(scoped, agg)["d"]["buckets"]:
                        day = local_day(int(b["key"] // 1000) + 3600, [(0, off)])  # key = local midnight
                        days[day] = days.get(day, 0) + b["doc_count"]
                return {"buckets": days, "time_zone": TIME_ZONE}
            return volume
        if case.kind == "authors":
            agg = {"top": {"terms": {"field": "author", "size": 10, "segment_size": 1000}},
                   "distinct": {"cardinality": {"field": "author"}}}

            def authors():
                r = s.aggregate(q, agg)
                top = [[b["key"], b["doc_count"]] for b in r["top"]["buckets"]]
                return {"top": top, "distinct": int(r["distinct"]["value"]), "distinct_exact": False}
            return authors
        raise ValueError(case.kind)


