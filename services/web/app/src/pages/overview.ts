// Overview of a topic or query over a period: headline numbers against the previous period, volume by
// sentiment in the chosen time zone, then share of voice, languages, authors, terms and spikes
// (overview_panels.ts). Every number links to the mentions behind it.

import { insights, num } from "../api";
import { chart, COLORS, drill, numbers, table } from "../charts";
import { h, panel } from "../dom";
import { int, pct, signed, signedPct } from "../fmt";
import { load } from "../load";
import { drillHref, insightScope, INTERVAL_ENUM, scopeOf, type Scope } from "../route";
import { scopeBar } from "../scopebar";
import { bucketLabel, fmtTime } from "../time";
import { authorsPanel, languagesPanel, shareOfVoicePanel, spikesPanel, termsPanel } from "./overview_panels";

const LABELS = ["positive", "neutral", "negative", "unclassified"] as const;

/** "Topic Acme" / "acme AND outage" / "All mentions". */
export function scopeTitle(s: Scope): string {
  if (s.topic) return `Topic “${s.topic}”`;
  if (s.query) return `Query “${s.query}”`;
  return "All recent mentions";
}

export function periodText(s: Scope): string {
  return `${fmtTime(s.from, s.tz, true)} – ${fmtTime(s.to, s.tz, true)} (${s.tz})`;
}

export function overviewPage(main: HTMLElement, params: URLSearchParams): void {
  const s = scopeOf(params);
  const headline = panel("Sentiment against the previous period", "headline");
  const volume = panel("Volume by sentiment", "volume");
  const grid = h("div", { class: "grid" });
  main.append(
    scopeBar("overview", s),
    h("h1", { "data-testid": "scope-title" }, scopeTitle(s), h("span", { class: "period", "data-testid": "period" }, periodText(s))),
    h("div", { class: "grid wide" }, headline.root, volume.root),
    grid,
  );
  void load(headline.body, insights("SentimentSummary", { scope: insightScope(s) }), (r) => headlineView(s, r));
  void load(
    volume.body,
    insights("Volume", { scope: insightScope(s), interval: INTERVAL_ENUM[s.interval], timeZone: s.tz, splitBy: "DIMENSION_SENTIMENT" }),
    (r) => volumeView(s, r),
  );
  grid.append(shareOfVoicePanel(s), languagesPanel(s), authorsPanel(s), termsPanel(s), spikesPanel(s));
}

function stat(label: string, value: string, testid: string, note: string, link?: string): HTMLElement {
  const v = link ? drill(link, value, `${label}: open these mentions`) : value;
  return h("div", { class: "stat" }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value", "data-testid": testid }, v), h("div", { class: "stat-note" }, note));
}

function headlineView(s: Scope, r: any): HTMLElement {
  const cur = r.current ?? {};
  const prev = r.previous ?? {};
  const total = num(cur.total);
  const classified = num(cur.positive) + num(cur.neutral) + num(cur.negative);
  return h(
    "div",
    { class: "stats" },
    stat("Mentions", int(total), "total", `${signedPct(r.volumeChange ?? 0)} vs previous period (${int(num(prev.total))})`, drillHref(s, "")),
    stat("Net sentiment", signed(cur.netSentiment ?? 0), "net-sentiment", `${signed(r.netSentimentChange ?? 0)} vs previous (${signed(prev.netSentiment ?? 0)})`),
    stat("Positive", pct(cur.positiveShare ?? 0), "positive-share", `${int(num(cur.positive))} mentions`, drillHref(s, "sentiment:positive")),
    stat("Negative", pct(cur.negativeShare ?? 0), "negative-share", `${int(num(cur.negative))} mentions`, drillHref(s, "sentiment:negative")),
    stat("Neutral", pct(cur.neutralShare ?? 0), "neutral-share", `${int(num(cur.neutral))} mentions`, drillHref(s, "sentiment:neutral")),
    classified === 0 && total > 0
      ? h("p", { class: "muted note" }, `${int(num(cur.unclassified))} mentions are not classified (the server runs without its sentiment model), so shares and net sentiment are 0.`)
      : null,
  );
}

function volumeView(s: Scope, r: any): HTMLElement {
  const buckets: any[] = r.buckets ?? [];
  if (!num(r.total)) return h("p", { class: "empty" }, "No mentions in this period.");
  const labels = buckets.map((b) => bucketLabel(b.label ?? "", s.interval));
  const span = (i: number) => [Date.parse(buckets[i].start), Date.parse(buckets[i].end)] as const;
  return h(
    "div",
    {},
    chart({
      kind: "bar",
      stacked: true,
      labels,
      series: LABELS.map((l) => ({ label: l, data: buckets.map((b) => num(b.split?.[l])), color: COLORS[l] })),
      link: (i, series) => drillHref(s, `sentiment:${LABELS[series]}`, ...span(i)),
      summary: `Mentions per ${s.interval} by sentiment, ${int(num(r.total))} in all.`,
      height: 260,
    }),
    numbers(volumeTable(s, buckets)),
  );
}

function volumeTable(s: Scope, buckets: any[]): HTMLElement {
  const rows = buckets.map((b) => {
    const from = Date.parse(b.start);
    const to = Date.parse(b.end);
    const label = bucketLabel(b.label ?? "", s.interval);
    return [
      label,
      drill(drillHref(s, "", from, to), int(num(b.total)), `${label}: all ${num(b.total)} mentions`),
      ...LABELS.map((l) => drill(drillHref(s, `sentiment:${l}`, from, to), int(num(b.split?.[l])), `${label}: ${l} mentions`)),
    ];
  });
  return table(`Mentions per ${s.interval} (${s.tz})`, ["Bucket", "Total", ...LABELS.map((l) => l[0].toUpperCase() + l.slice(1))], rows, [1, 2, 3, 4, 5], "volume-table");
}
