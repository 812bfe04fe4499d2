"""A small deterministic corpus over the last 7 days, sent through the JSON API (IngestService/Ingest
with waitSearchable), so every page has something to show: three brands, four languages, a dozen
authors with followers, a few recurring terms and hashtags, and a KPI for the CIO view."""

import random
import time

DAY = 86_400
BRANDS = {"acme": 0.5, "globex": 0.3, "initech": 0.2}
LANGS = [("en", 0.6), ("de", 0.2), ("fr", 0.1), ("es", 0.1)]
SOURCES = ["SOURCE_NETWORK_TWITTER", "SOURCE_NETWORK_REDDIT", "SOURCE_NETWORK_NEWS", "SOURCE_NETWORK_REVIEW", "SOURCE_NETWORK_MASTODON"]
AUTHORS = [(f"user{i}", f"Person {i}", [120, 5400, 98000, 310, 42, 7700, 1500000, 860, 23000, 4, 61000, 990][i]) for i in range(12)]
TEMPLATES = [
    "{b} checkout is broken again, cannot pay",
    "love the new {b} app #{b}love",
    "{b} support answered in minutes, impressed",
    "is {b} down? login keeps failing",
    "{b} delivery late again, third time this month",
    "switched to {b} last week and the prices are fair",
    "{b} outage hitting the whole office #{b}down",
    "new {b} release notes look solid",
]


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))


def pick(rng: random.Random, weighted):
    items, weights = zip(*weighted) if isinstance(weighted, list) else zip(*weighted.items())
    return rng.choices(items, weights=weights)[0]


def mentions(now: float, count: int = 180, seed: int = 16, prefix: str = "m") -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        brand = pick(rng, BRANDS)
        handle, name, followers = AUTHORS[rng.randrange(len(AUTHORS))]
        # Spread over the 7 days before `now` (never in the future), more of them recently.
        age = int(rng.random() ** 1.3 * 7 * DAY) + 60
        out.append({
            "id": f"{prefix}{i}",
            "text": rng.choice(TEMPLATES).format(b=brand) + f" ({i})",
            "createdAt": iso(now - age),
            "source": rng.choice(SOURCES),
            "author": {"id": f"id-{handle}", "handle": handle, "displayName": name, "followers": followers},
            "language": pick(rng, LANGS),
            "engagementType": "ENGAGEMENT_TYPE_POST",
            "counts": {"likes": rng.randrange(50), "shares": rng.randrange(10), "replies": rng.randrange(5)},
        })
    return out


def spike_baseline(hour: int, topic_word: str = "zeta") -> list[dict]:
    """2 mentions at this hour on each of the 7 days before: the level a spike is measured against."""
    return [
        {"id": f"base-{d}-{k}", "text": f"{topic_word} app works fine {d} {k}", "createdAt": iso(hour - d * DAY + k),
         "author": {"id": "id-base", "handle": "steady"}, "source": "SOURCE_NETWORK_TWITTER"}
        for d in range(1, 8) for k in range(2)
    ]


def spike(hour: int, topic_word: str = "zeta", n: int = 30) -> list[dict]:
    """`n` mentions at the start of this hour: a spike of z = (n-2)/sqrt(2) against the baseline."""
    return [
        {"id": f"spike-{k}", "text": f"{topic_word} outage again, login dead {k}", "createdAt": iso(hour + k % 50),
         "author": {"id": f"id-angry{k % 5}", "handle": f"angry{k % 5}"}, "source": "SOURCE_NETWORK_TWITTER"}
        for k in range(n)
    ]


def ingest(api, ms: list[dict]) -> None:
    for i in range(0, len(ms), 500):
        r = api.call("IngestService", "Ingest", {"mentions": ms[i:i + 500], "waitSearchable": True})
        accepted = int(r.get("accepted", 0)) + int(r.get("duplicates", 0))
        assert accepted == len(ms[i:i + 500]), r
        assert r.get("searchable") is True, r


def kpi_orders(api, now: float) -> None:
    """Daily orders over the last 14 days, dipping on the busiest mention days."""
    points = [{"at": iso(now - d * DAY), "value": 500 - 7 * ((d * 5) % 11)} for d in range(14)]
    api.call("KpiService", "IngestKpi", {"name": "orders", "unit": "orders/day", "points": points})
