"""Deterministic corpus of social mentions for the side-by-side harness (bench/compare.sh).

Writes N mentions as earshot JSON lines (the import vocabulary of README.md "Import formats": id, text,
created_at, source, language, country, author {id, handle, display_name, followers}, engagement_type,
likes, shares, replies). The same seed and N always give the same file, byte for byte.

What it looks like:
- 5 languages (en 50 %, de 15 %, es 13 %, fr 12 %, it 10 %), each with its own Zipf-weighted everyday
  vocabulary, so term statistics look like text rather than uniform noise;
- brands (acme common, initech rare, ...) as plain words, #hashtags and @handles, topic words (outage,
  refund, "customer service", ...) and emoji;
- authors drawn from a Zipf distribution over N/5 accounts (a few very active, a long tail), followers
  skewed the same way;
- unique created_at seconds over 90 days (2026-08-01 .. 2026-10-30 UTC, across the end of summer time in
  Europe/Berlin), with a day/night rhythm and one acme outage afternoon.

The texts avoid what the four systems tokenise differently, so that every query has one right answer:
no URLs in the text (earshot indexes only a URL's host), no `_` or `-` inside words, no English
possessives, no emoji between words (earshot gives an emoji a word position; the peers drop it).
Accented words and French/Italian elisions do occur, but never next to a queried word.

Usage: python corpus.py OUT.jsonl N [SEED]
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import sys

VERSION = 1  # bump when the output changes, so cached files are regenerated
START = dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc)
DAYS = 90
START_S = int(START.timestamp())
END_S = START_S + DAYS * 86400
# The acme outage: 2026-09-29 13:00-19:00 UTC.
OUTAGE = (START_S + 59 * 86400 + 13 * 3600, START_S + 59 * 86400 + 19 * 3600)

LANGUAGES = [("en", 50), ("de", 15), ("es", 13), ("fr", 12), ("it", 10)]
COUNTRY = {"en": ["US", "GB", "IE", "CA", "AU"], "de": ["DE", "AT", "CH"], "es": ["ES", "MX", "AR"],
           "fr": ["FR", "BE", "CA"], "it": ["IT", "CH"]}
SOURCES = [("twitter", 45), ("reddit", 15), ("mastodon", 8), ("bluesky", 12), ("news", 5), ("review", 10),
           ("forum", 5)]
ENGAGEMENT = [("post", 70), ("reply", 15), ("repost", 10), ("quote", 5)]
BRANDS = [("acme", 30), ("globex", 20), ("hooli", 10), ("umbrella", 8), ("initech", 4), ("soylent", 3), (None, 25)]

# Everyday words, most frequent first (the draw is Zipf-weighted by position).
VOCAB = {
    "en": """the i to and a it is of my for this in that so just not you on with was have but be
        are at me all what now like get again they your can today still why from one out no really time got
        new day know been when people need thanks any good how about will much week after ever back going
        working phone order account tried home night help same even first more would someone since every
        money team hour hours waiting months email call chat friend store service guys wow finally great
        terrible worst best amazing love hate fast slow broken fixed issue problem please""".split(),
    "de": """ich die der und das ist nicht es zu mit ein auf für schon wieder noch heute mal bei was
        wie kann man aber jetzt nur auch seit mein immer keine gar so sehr echt einfach warum wer hat habe
        geht läuft Stunden Tage Kunden Bestellung Konto Handy Hotline Woche endlich super toll schlecht
        nervig ärgerlich gut danke bitte Lieferung Rückerstattung Störung Ärger kaputt langsam schnell""".split(),
    "es": """el la de que y a en no es por con mi lo se para una un me ya otra vez hoy todo muy pero
        como si porque nada siempre desde gracias bien mal horas días semana cuenta pedido teléfono cliente
        atención problema servicio reembolso entrega rápido lento roto genial terrible increíble""".split(),
    "fr": """le la de et les des un une je pas est que en pour sur avec mon ma ça vraiment encore
        toujours depuis aujourd hui merci bien mal trop très rien tout fois heures jours semaine compte
        commande téléphone client problème service remboursement livraison rapide lent génial nul l'appli
        d'abord l'attente j'attends c'est""".split(),
    "it": """il la di che e un una non è per con mi ho ancora oggi sempre da molto tutto niente grazie
        bene male ore giorni settimana conto ordine telefono cliente problema servizio rimborso consegna
        veloce lento fantastico pessimo dell'ordine l'attesa nell'assistenza c'è""".split(),
}
# Topic phrases per theme; English words also appear in other languages (loan words: "app", "update", "down").
THEMES = {
    "outage": {"en": ["is down", "outage again", "down for hours", "outage", "is down again"],
               "de": ["ist down", "Störung seit heute", "schon wieder down", "outage"],
               "es": ["está caído", "caída del servicio", "down otra vez"],
               "fr": ["est en panne", "panne encore", "down depuis ce matin"],
               "it": ["è down", "disservizio", "ancora down"]},
    "refund": {"en": ["still waiting for my refund", "refund please", "no refund yet", "refund denied"],
               "de": ["Rückerstattung dauert", "refund fehlt", "Geld zurück"],
               "es": ["sin reembolso", "reembolso pendiente", "refund"],
               "fr": ["remboursement en attente", "toujours pas de remboursement", "refund"],
               "it": ["rimborso in ritardo", "nessun rimborso", "refund"]},
    "support": {"en": ["customer service is terrible", "customer service was great", "support chat",
                       "called customer service twice", "support never answers"],
                "de": ["Kundenservice ist super", "Hotline nicht erreichbar", "support"],
                "es": ["atención al cliente", "servicio pésimo", "support"],
                "fr": ["service client", "le support répond jamais", "support"],
                "it": ["servizio clienti", "assistenza", "support"]},
    "product": {"en": ["new app update", "battery drains fast", "love the new design", "price went up",
                       "delivery was late", "app keeps crashing", "login broken"],
                "de": ["neues update", "Akku hält nicht", "Preis erhöht", "app stürzt ab", "Lieferung kam spät"],
                "es": ["nueva app", "la batería dura poco", "precio subió", "entrega tarde"],
                "fr": ["nouvelle mise à jour", "la batterie", "prix en hausse", "livraison en retard", "app"],
                "it": ["nuovo update", "batteria", "prezzo aumentato", "consegna in ritardo", "app"]},
    "chatter": {lang: [""] for lang in VOCAB},
}
THEME_WEIGHTS = [("outage", 8), ("refund", 10), ("support", 12), ("product", 30), ("chatter", 40)]
EMOJI = ["😡", "🙄", "👍", "❤️", "😂", "🔥", "😭", "👍🏽"]
NAME_PARTS = ["ana", "ben", "cara", "dan", "eva", "finn", "gina", "hugo", "ines", "jan", "kai", "lea", "max",
              "nina", "otto", "paula", "rafa", "sara", "tom", "uma", "vera", "will", "yara", "zoe"]
TAIL_PARTS = ["fox", "dev", "writes", "daily", "news", "cat", "runner", "sky", "bytes", "shop", "official"]


def weighted(rng: random.Random, pairs):
    """A sampler over (value, weight) pairs."""
    values = [v for v, _ in pairs]
    cum = list(itertools.accumulate(w for _, w in pairs))
    total = cum[-1]
    return lambda: values[bisect.bisect_right(cum, rng.random() * total)]


def zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (k ** s) for k in range(1, n + 1)))


def author(rank: int) -> dict:
    """Account `rank` (0 = most active): a stable id, handle, name and a follower count skewed like activity."""
    rng = random.Random(rank * 7919 + 1)
    first, tail = rng.choice(NAME_PARTS), rng.choice(TAIL_PARTS)
    handle = f"{first}{tail}{rank}"
    followers = int(2_000_000 / (1 + rank) ** 0.8 * rng.uniform(0.3, 3.0)) + rng.randint(0, 300)
    return {"id": str(1_000_000_007 * (rank + 1) % 2**31), "handle": handle,
            "display_name": f"{first.title()} {tail.title()}", "followers": followers}


def timestamps(rng: random.Random, n: int) -> list[int]:
    """n distinct seconds in [START_S, END_S), with more by day than by night and an outage afternoon."""
    hour_weight = [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 9, 9, 8, 8, 8, 9, 10, 10, 9, 7, 5, 3]
    top = max(hour_weight)
    seen: set[int] = set()
    out = []
    span = END_S - START_S
    outage_share = 0.01
    while len(out) < n:
        if rng.random() < outage_share:
            t = rng.randrange(*OUTAGE)
        else:
            t = START_S + rng.randrange(span)
            if rng.random() * top >= hour_weight[(t // 3600) % 24]:
                continue
        if t in seen:
            continue
        seen.add(t)
        out.append(t)
    return out


class Generator:
    def __init__(self, n: int, seed: int):
        self.n = n
        self.rng = random.Random(seed)
        rng = self.rng
        self.language = weighted(rng, LANGUAGES)
        self.source = weighted(rng, SOURCES)
        self.engagement = weighted(rng, ENGAGEMENT)
        self.brand = weighted(rng, BRANDS)
        self.theme = weighted(rng, THEME_WEIGHTS)
        self.n_authors = max(1000, n // 5)
        self.author_cum = zipf_cum(self.n_authors, 0.8)
        self.vocab_cum = {lang: zipf_cum(len(words), 1.0) for lang, words in VOCAB.items()}
        self.authors: dict[int, dict] = {}

    def words(self, lang: str, k: int) -> list[str]:
        return self.rng.choices(VOCAB[lang], cum_weights=self.vocab_cum[lang], k=k)

    def brand_token(self, brand: str) -> str:
        r = self.rng.random()
        return f"#{brand}" if r < 0.2 else f"@{brand}" if r < 0.3 else brand.title() if r < 0.6 else brand

    def text(self, lang: str, when: int) -> str:
        rng = self.rng
        in_outage = OUTAGE[0] <= when < OUTAGE[1] and rng.random() < 0.6
        brand = "acme" if in_outage else self.brand()
        theme = "outage" if in_outage else self.theme()
        parts = self.words(lang, rng.randint(3, 12))
        phrase = rng.choice(THEMES[theme][lang])
        if phrase:
            parts.insert(rng.randint(0, len(parts)), phrase)
        if brand:
            parts.insert(rng.randint(0, min(2, len(parts))), self.brand_token(brand))
            if rng.random() < 0.08:  # a comparison with a second brand
                other = self.brand()
                if other and other != brand:
                    parts.append(f"than {other}" if lang == "en" else other)
        if rng.random() < 0.15:
            parts.append("#" + rng.choice(["fail", "help", "tech", "shopping", "monday", theme]))
        text = " ".join(parts)
        text = text[0].upper() + text[1:] if text[0].isalpha() else text
        end = rng.random()
        text += "!" if end < 0.15 else "?" if end < 0.25 else "." if end < 0.6 else ""
        if rng.random() < 0.2:
            text += " " + rng.choice(EMOJI)
        return text

    def mention(self, i: int, when: int) -> dict:
        rng = self.rng
        rank = bisect.bisect_right(self.author_cum, rng.random() * self.author_cum[-1])
        a = self.authors.get(rank)
        if a is None:
            a = self.authors[rank] = author(rank)
        lang = self.language()
        likes = int(rng.paretovariate(1.3)) - 1
        return {
            "id": f"m{i:08d}",
            "text": self.text(lang, when),
            "created_at": dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": self.source(),
            "language": lang,
            "country": rng.choice(COUNTRY[lang]),
            "author": a,
            "engagement_type": self.engagement(),
            "likes": likes,
            "shares": likes // 4,
            "replies": int(rng.paretovariate(2.0)) - 1,
        }

    def write(self, path: str) -> None:
        times = timestamps(self.rng, self.n)
        with open(path, "w", encoding="utf-8") as out:
            for i, when in enumerate(times):
                out.write(json.dumps(self.mention(i, when), ensure_ascii=False, separators=(",", ":")))
                out.write("\n")


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    out, n = argv[1], int(argv[2])
    seed = int(argv[3]) if len(argv) == 4 else 17
    Generator(n, seed).write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
