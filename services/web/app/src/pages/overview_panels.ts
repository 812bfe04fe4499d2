// The overview's lower panels, each loading on its own: share of voice, language split, top authors by
// reach, trending and emerging terms, and spikes with what drove them.

import { insights, num, topics } from "../api";
import { chart, COLORS, drill, numbers, paletteColor, table } from "../charts";
import { empty, filled, h, panel } from "../dom";
import { fixed, int, pct, signed } from "../fmt";
import { errorBox, load } from "../load";
import { drillHref, href, insightScope, INTERVAL_ENUM, quoted, type Scope } from "../route";
import { fmtTime } from "../time";

// More bars than this stop being readable; the rest are summed by the server anyway.
const MAX_SOV_TOPICS = 12;

/** Share of voice of the scope against competitor topics (the `compare` list, or every saved topic). */
export function shareOfVoicePanel(s: Scope): HTMLElement {
  const p = panel("Share of voice", "sov");
  void (async () => {
    try {
      let names = s.compare;
      if (!names.length) names = ((await topics("ListTopics")).topics ?? []).map((t: any) => t.name as string);
      const own = s.topic || (s.query ? `query:${s.query}` : "");
      const list = [...new Set([own, ...names].filter(Boolean))].slice(0, MAX_SOV_TOPICS);
      if (list.length === 0) {
        return filled(p.body, empty("No topics to compare yet."), h("a", { href: href("topics") }, "Create topics"));
      }
      const r = await insights("ShareOfVoice", { topics: list, scope: insightScope(s) });
      const rows: any[] = r.topics ?? [];
      const topicHref = (name: string) =>
        name.startsWith("query:")
          ? href("search", { q: name.slice(6), from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString(), tz: s.tz })
          : href("search", { topic: name, from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString(), tz: s.tz });
      const label = (name: string) => (name.startsWith("query:") ? `“${name.slice(6)}”` : name);
      filled(
        p.body,
        num(r.total) === 0 ? empty("None of these topics has mentions in this period.") : null,
        chart({
          kind: "bar",
          horizontal: true,
          labels: rows.map((t) => label(t.topic)),
          series: [{ label: "Mentions", data: rows.map((t) => num(t.volume)), color: COLORS.volume }],
          link: (i) => topicHref(rows[i].topic),
          summary: `Share of voice of ${rows.length} topics.`,
          height: 40 + 28 * rows.length,
        }),
        table(
          "Share of voice",
          ["Topic", "Mentions", "Share", "Net sentiment"],
          rows.map((t) => [
            label(t.topic),
            drill(topicHref(t.topic), int(num(t.volume)), `${label(t.topic)}: open its mentions`),
            pct(t.share ?? 0),
            signed(t.sentiment?.netSentiment ?? 0),
          ]),
          [1, 2, 3],
          "sov-table",
        ),
      );
    } catch (e) {
      filled(p.body, errorBox(e));
    }
  })();
  return p.root;
}

/** Languages over the whole period (a Volume split by language, summed over its buckets). */
export function languagesPanel(s: Scope): HTMLElement {
  const p = panel("Languages", "languages");
  void load(
    p.body,
    insights("Volume", { scope: insightScope(s), interval: INTERVAL_ENUM[s.interval], timeZone: s.tz, splitBy: "DIMENSION_LANGUAGE" }),
    (r) => {
      const totals = new Map<string, number>();
      for (const b of r.buckets ?? []) for (const [k, v] of Object.entries(b.split ?? {})) totals.set(k, (totals.get(k) ?? 0) + num(v));
      const rows = [...totals.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
      if (!rows.length) return empty("No mentions in this period.");
      const all = rows.reduce((a, [, n]) => a + n, 0);
      // "none" (no language given) has no query of its own: it stays a plain number.
      const link = (lang: string) => (lang === "none" ? null : drillHref(s, `language:${quoted(lang)}`));
      return h(
        "div",
        {},
        chart({
          kind: "bar",
          horizontal: true,
          labels: rows.map(([l]) => l),
          series: [{ label: "Mentions", data: rows.map(([, n]) => n), color: paletteColor(5) }],
          link: (i) => link(rows[i][0]),
          summary: `Mentions in ${rows.length} languages.`,
          height: 40 + 24 * Math.min(rows.length, 12),
        }),
        numbers(
          table(
            "Mentions per language",
            ["Language", "Mentions", "Share"],
            rows.map(([l, n]) => {
              const url = link(l);
              return [l, url ? drill(url, int(n), `${l}: open these mentions`) : int(n), pct(n / all)];
            }),
            [1, 2],
            "languages-table",
          ),
        ),
      );
    },
  );
  return p.root;
}

/** Authors by reach (largest follower count), with their mentions and engagement. */
export function authorsPanel(s: Scope): HTMLElement {
  const p = panel("Top authors by reach", "authors");
  void load(p.body, insights("TopAuthors", { scope: insightScope(s), limit: 10 }), (r) => {
    const rows: any[] = r.byReach ?? [];
    if (!rows.length) return empty("No authors in this period.");
    return h(
      "div",
      {},
      h("p", { class: "muted" }, `${int(num(r.uniqueAuthors))} distinct authors.`),
      table(
        "Top authors by reach",
        ["Author", "Followers", "Mentions", "Engagement"],
        rows.map((a) => [
          `@${a.handle || a.authorId}`,
          int(num(a.followers)),
          drill(drillHref(s, `author:${quoted(a.handle || a.authorId)}`), int(num(a.mentions)), `Mentions by @${a.handle}`),
          int(num(a.engagement)),
        ]),
        [1, 2, 3],
        "authors-table",
      ),
    );
  });
  return p.root;
}

function termList(s: Scope, terms: any[], testid: string, score: (t: any) => string): HTMLElement {
  if (!terms.length) return empty("None.");
  return h(
    "ul",
    { class: "terms", "data-testid": testid },
    terms.map((t) =>
      h(
        "li",
        {},
        drill(drillHref(s, quoted(t.term)), t.term, `${t.term}: open the ${num(t.foregroundCount)} mentions using it (${score(t)})`),
        h("span", { class: "count", title: score(t) }, int(num(t.foregroundCount))),
      ),
    ),
  );
}

/** Terms over-represented in the period against the ones before it, hashtags, and emerging terms. */
export function termsPanel(s: Scope): HTMLElement {
  const p = panel("Trending and emerging terms", "terms");
  p.root.classList.add("span2");
  void load(p.body, insights("TrendingTerms", { scope: insightScope(s), limit: 15 }), (r) => {
    const significant = r.significant ?? [];
    const emerging = r.emerging ?? [];
    const tags = r.hashtags ?? [];
    if (!significant.length && !emerging.length && !tags.length) return empty("No term stands out in this period yet (a term needs at least 3 mentions).");
    return h(
      "div",
      { class: "term-rows" },
      h("div", {}, h("h3", {}, "Trending"), termList(s, significant, "terms-significant", (t) => `score ${fixed(t.score ?? 0)}`)),
      h("div", {}, h("h3", {}, "Emerging"), termList(s, emerging, "terms-emerging", (t) => `growth ${fixed(t.score ?? 0, 1)}×`)),
      h("div", {}, h("h3", {}, "Hashtags"), termList(s, tags, "terms-hashtags", (t) => `score ${fixed(t.score ?? 0)}`)),
    );
  });
  return p.root;
}

/** One spike and what drove it; every driver opens the mentions of the spike that have it. */
export function spikeItem(s: Scope, sp: any): HTMLElement {
  const from = Date.parse(sp.start);
  const to = Date.parse(sp.end);
  const drivers = (title: string, items: any[], filter: ((k: string) => string) | null) =>
    items?.length
      ? h(
          "div",
          { class: "drivers" },
          h("span", { class: "muted" }, `${title}: `),
          items.map((it: any, i: number) => {
            const key: string = it.term ?? it.key;
            const count = it.count ?? it.foregroundCount;
            return [i ? ", " : "", filter ? drill(drillHref(s, filter(key), from, to), key, `${key} in this spike`) : key, count ? ` (${int(num(count))})` : ""];
          }),
        )
      : null;
  return h(
    "li",
    { class: "spike" },
    h(
      "div",
      {},
      drill(drillHref(s, "", from, to), `${fmtTime(from, s.tz)} – ${fmtTime(to, s.tz)}`, "Open the mentions of this spike"),
      h("span", { class: "muted" }, ` peak ${int(num(sp.peakCount))} at ${fmtTime(Date.parse(sp.peak), s.tz)}, expected ${fixed(sp.expected ?? 0, 1)}, z = ${fixed(sp.zScore ?? 0, 1)}`),
    ),
    drivers("Terms", sp.topTerms, (k) => quoted(k)),
    // Spike authors are author ids, which no query operator reaches (author: is the handle).
    drivers("Authors", sp.topAuthors, null),
    drivers("Sources", sp.topSources, (k) => `source:${quoted(k)}`),
  );
}

/** The volume series against its expected level, and the spikes in it. */
export function spikesPanel(s: Scope): HTMLElement {
  const p = panel("Spikes", "spikes");
  void load(p.body, insights("Spikes", { scope: insightScope(s), metric: "SPIKE_METRIC_VOLUME" }), (r) => {
    const series: any[] = r.series ?? [];
    const spikes: any[] = r.spikes ?? [];
    const step = series.length > 1 ? Date.parse(series[1].start) - Date.parse(series[0].start) : 3600_000;
    return h(
      "div",
      {},
      // A flat zero line says nothing the empty state does not.
      series.some((pt) => (pt.value ?? 0) > 0)
        ? chart({
            kind: "line",
            labels: series.map((pt) => fmtTime(Date.parse(pt.start), s.tz)),
            series: [
              { label: "Mentions", data: series.map((pt) => pt.value ?? 0), color: COLORS.volume },
              { label: "Expected", data: series.map((pt) => pt.expected ?? 0), color: COLORS.expected, dashed: true },
            ],
            link: (i) => drillHref(s, "", Date.parse(series[i].start), Date.parse(series[i].start) + step),
            summary: `Mentions per bucket against the expected level; ${spikes.length} spikes.`,
            height: 200,
          })
        : null,
      spikes.length ? h("ul", { class: "spikes", "data-testid": "spikes-list" }, spikes.map((sp) => spikeItem(s, sp))) : empty("No spike in this period."),
    );
  });
  return p.root;
}
