// The CIO view: the incident signal (negative mentions in service-problem language against their usual
// level), a KPI's correlation with the conversation — with its plain statement of what it does not
// prove — and the perception gap between how the service does and what people say.

import { insights, kpis, num } from "../api";
import { chart, COLORS, drill, numbers, table } from "../charts";
import { empty, filled, h, panel } from "../dom";
import { fixed, int, signed } from "../fmt";
import { errorBox, load } from "../load";
import { drillHref, href, insightScope, navigate, scopeOf, scopeParams, type Scope } from "../route";
import { scopeBar } from "../scopebar";
import { fmtTime } from "../time";
import { periodText, scopeTitle } from "./overview";
import { spikeItem } from "./overview_panels";

export function cioPage(main: HTMLElement, params: URLSearchParams): void {
  const s = scopeOf(params);
  const kpi = params.get("kpi") ?? "";
  const incident = panel("Incident signal", "incident");
  const kpiPick = h("div", { class: "kpi-pick" });
  const correlate = panel("KPI correlation", "correlation", kpiPick);
  const gap = panel("Perception gap", "perception");
  main.append(
    scopeBar("cio", s),
    h("h1", {}, scopeTitle(s), h("span", { class: "period" }, periodText(s))),
    h("div", { class: "grid wide" }, incident.root),
    h("div", { class: "grid two" }, correlate.root, gap.root),
  );
  void load(incident.body, insights("IncidentSignal", { scope: insightScope(s) }), (r) => incidentView(s, r));

  void (async () => {
    let names: string[] = [];
    try {
      names = ((await kpis("ListKpis")).kpis ?? []).map((k: any) => k.name as string);
    } catch (e) {
      filled(correlate.body, errorBox(e));
      filled(gap.body, errorBox(e));
      return;
    }
    if (!names.length) {
      const none = () => empty("No KPI yet: send daily orders, sessions or SLA attainment with KpiService/IngestKpi (or earshot report --kpi).");
      filled(correlate.body, none());
      filled(gap.body, none());
      return;
    }
    const chosen = names.includes(kpi) ? kpi : names[0];
    const select = h("select", { id: "kpi" }, names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
    select.addEventListener("change", () => navigate("cio", scopeParams(s, { kpi: select.value })));
    kpiPick.append(h("label", { for: "kpi" }, "KPI "), select);
    const interval = s.interval === "hour" ? "INTERVAL_HOUR" : "INTERVAL_DAY";
    void load(correlate.body, insights("Correlate", { scope: insightScope(s), kpi: chosen, metric: "SERIES_METRIC_VOLUME", interval }), (r) => correlationView(r, chosen));
    void load(gap.body, insights("PerceptionGap", { scope: insightScope(s), kpi: chosen, interval }), (r) => gapView(s, r, chosen));
  })();
}

function incidentView(s: Scope, r: any): HTMLElement {
  const series: any[] = r.series ?? [];
  const incidents: any[] = r.incidents ?? [];
  const level = r.currentLevel ?? 0;
  const query = r.query ?? "";
  const step = series.length > 1 ? Date.parse(series[1].start) - Date.parse(series[0].start) : 3600_000;
  // The incident query replaces the scope's filter: its mentions are the ones the signal counted.
  const link = (from = s.from, to = s.to) => drillHref(s, query ? `(${query})` : "", from, to);
  return h(
    "div",
    {},
    h(
      "div",
      { class: "stats" },
      h("div", { class: `stat ${level >= 4 ? "alarm" : ""}` }, h("div", { class: "stat-label" }, "Level now (z)"), h("div", { class: "stat-value", "data-testid": "incident-level" }, fixed(level, 1)), h("div", { class: "stat-note" }, level >= 4 ? "Well above the usual level: likely an incident" : "Within the usual range")),
      h("div", { class: "stat" }, h("div", { class: "stat-label" }, "Incidents"), h("div", { class: "stat-value", "data-testid": "incident-count" }, String(incidents.length)), h("div", { class: "stat-note" }, drill(link(), "Open the problem mentions", "Open every problem mention of the period"))),
    ),
    series.length
      ? chart({
          kind: "line",
          labels: series.map((p) => fmtTime(Date.parse(p.start), s.tz)),
          series: [
            { label: "Problem mentions", data: series.map((p) => p.value ?? 0), color: COLORS.negative },
            { label: "Expected", data: series.map((p) => p.expected ?? 0), color: COLORS.expected, dashed: true },
          ],
          link: (i) => link(Date.parse(series[i].start), Date.parse(series[i].start) + step),
          summary: `Negative mentions with problem words per bucket; level now ${fixed(level, 1)}.`,
          height: 220,
        })
      : null,
    incidents.length ? h("ul", { class: "spikes", "data-testid": "incidents" }, incidents.map((sp) => spikeItem({ ...s, query: s.topic ? s.query : query }, sp))) : empty("No incident in this period."),
    query ? h("p", { class: "muted" }, "Counted with: ", h("code", {}, query)) : null,
  );
}

function correlationView(r: any, kpi: string): HTMLElement {
  const lags: any[] = (r.lags ?? []).slice().sort((a: any, b: any) => (a.lag ?? 0) - (b.lag ?? 0));
  const best = r.best ?? {};
  return h(
    "div",
    {},
    h(
      "div",
      { class: "stats" },
      h("div", { class: "stat" }, h("div", { class: "stat-label" }, "Best r"), h("div", { class: "stat-value", "data-testid": "corr-r" }, signed(best.r ?? 0))),
      h("div", { class: "stat" }, h("div", { class: "stat-label" }, "at lag"), h("div", { class: "stat-value" }, `${best.lag ?? 0}`), h("div", { class: "stat-note" }, "buckets; positive: mentions lead the KPI")),
      h("div", { class: "stat" }, h("div", { class: "stat-label" }, "p-value"), h("div", { class: "stat-value" }, fixed(r.pValue ?? 1, 3)), h("div", { class: "stat-note" }, `${best.n ?? 0} pairs`)),
    ),
    // The statement is the point of this panel: it says what the number does not prove.
    h("p", { class: "statement", "data-testid": "corr-statement" }, r.statement ?? ""),
    lags.length
      ? chart({
          kind: "bar",
          labels: lags.map((l) => String(l.lag ?? 0)),
          series: [{ label: `r (mentions vs ${kpi})`, data: lags.map((l) => l.r ?? 0), color: COLORS.kpi }],
          summary: `Correlation of mention volume with ${kpi} at ${lags.length} lags; best r ${fixed(best.r ?? 0)} at lag ${best.lag ?? 0}.`,
          height: 180,
        })
      : null,
    lags.length ? numbers(table("Correlation per lag", ["Lag", "r", "Pairs"], lags.map((l) => [String(l.lag ?? 0), fixed(l.r ?? 0, 3), String(l.n ?? 0)]), [1, 2])) : null,
  );
}

function gapView(s: Scope, r: any, kpi: string): HTMLElement {
  const points: any[] = r.points ?? [];
  if (!points.length) return empty(`No ${kpi} points or mentions in this period.`);
  const day = (p: any) => fmtTime(Date.parse(p.start), s.tz);
  return h(
    "div",
    {},
    h("p", { class: "statement", "data-testid": "gap-statement" }, r.statement ?? "", ` (r = ${fixed(r.r ?? 0)})`),
    chart({
      kind: "line",
      labels: points.map(day),
      series: [
        { label: kpi, data: points.map((p) => (p.hasKpi ? p.kpi ?? 0 : NaN)), color: COLORS.kpi, axis: "y2" },
        { label: "Net sentiment", data: points.map((p) => p.netSentiment ?? 0), color: COLORS.positive },
        { label: "Gap (z)", data: points.map((p) => p.gap ?? 0), color: COLORS.expected, type: "bar" },
      ],
      y2: kpi,
      link: (i) => drillHref(s, "", Date.parse(points[i].start), points[i + 1] ? Date.parse(points[i + 1].start) : s.to),
      summary: `${kpi} beside net sentiment; positive gap: the service does better than people say.`,
      height: 220,
    }),
    numbers(
      table(
        "Perception gap per bucket",
        ["Bucket", kpi, "Net sentiment", "Mentions", "Gap"],
        points.map((p) => {
          const from = Date.parse(p.start);
          const next = points[points.indexOf(p) + 1];
          const to = next ? Date.parse(next.start) : s.to;
          return [day(p), p.hasKpi ? fixed(p.kpi ?? 0) : "—", signed(p.netSentiment ?? 0), drill(drillHref(s, "", from, to), int(num(p.volume)), `Mentions of ${day(p)}`), signed(p.gap ?? 0)];
        }),
        [1, 2, 3, 4],
      ),
    ),
    h("p", { class: "muted" }, h("a", { href: href("overview", scopeParams(s)) }, "Back to the marketing overview")),
  );
}
