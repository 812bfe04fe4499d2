// Every view is a URL: the page in the hash path, its state (query, topic, period, time zone…) in the
// hash's query string, so a link pasted into chat opens the same view. Hash routing also works from
// any static server, which the asset tests rely on.

import { browserZone, iso, localMidnight, parseWhen, validZone } from "./time";

export type Page = "overview" | "search" | "topics" | "alerts" | "cio";
export const PAGES: Page[] = ["overview", "search", "topics", "alerts", "cio"];

export interface Route {
  page: Page;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  const path = q >= 0 ? hash.slice(0, q) : hash;
  const params = new URLSearchParams(q >= 0 ? hash.slice(q + 1) : "");
  const page = (PAGES as string[]).includes(path) ? (path as Page) : "overview";
  return { page, params };
}

/** The link of a page with these parameters (empty values are left out). */
export function href(page: Page, params: Record<string, string | undefined> | URLSearchParams = {}): string {
  const out = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params);
  for (const [k, v] of entries) if (v) out.set(k, v);
  const qs = out.toString();
  return `#/${page}${qs ? `?${qs}` : ""}`;
}

export function navigate(page: Page, params: Record<string, string | undefined> | URLSearchParams): void {
  location.hash = href(page, params);
}

export type Interval = "hour" | "day" | "week" | "month";

/** What an insight covers, read from the URL. */
export interface Scope {
  query: string;
  topic: string;
  from: number;
  to: number;
  tz: string;
  interval: Interval;
  /** "7d", "24h", … or "custom". */
  period: string;
  /** Competitor topics for share of voice (empty: every saved topic). */
  compare: string[];
}

export const PERIODS: [string, string][] = [
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["90d", "Last 90 days"],
  ["custom", "Custom dates"],
];

const HOUR = 3600_000;

/** Reads the scope; anything missing takes the defaults (every mention, last 7 days, browser's zone). */
export function scopeOf(params: URLSearchParams, now = Date.now()): Scope {
  const tzParam = params.get("tz") ?? "";
  const tz = tzParam && validZone(tzParam) ? tzParam : browserZone();
  let period = params.get("period") ?? "";
  const fromText = params.get("from") ?? "";
  const toText = params.get("to") ?? "";
  let from = NaN;
  let to = NaN;
  if (fromText && toText) {
    from = parseWhen(fromText, tz);
    // A plain date as the end means "through that day".
    to = /^\d{4}-\d{2}-\d{2}$/.test(toText) ? localMidnight(parseWhen(toText, tz), tz, 1) : parseWhen(toText, tz);
    period = "custom";
  }
  if (!(from < to)) {
    if (!PERIODS.some(([p]) => p === period) || period === "custom") period = "7d";
    if (period === "24h") {
      // Whole hours, so hour buckets are whole too.
      to = Math.ceil((now + 1) / HOUR) * HOUR;
      from = to - 24 * HOUR;
    } else {
      const days = Number(period.slice(0, -1));
      to = localMidnight(now, tz, 1);
      from = localMidnight(now, tz, 1 - days);
    }
  }
  const intervalParam = params.get("interval") as Interval | null;
  const span = to - from;
  const interval: Interval =
    intervalParam && ["hour", "day", "week", "month"].includes(intervalParam)
      ? intervalParam
      : span <= 3 * 24 * HOUR
        ? "hour"
        : span <= 120 * 24 * HOUR
          ? "day"
          : "week";
  const compare = (params.get("compare") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return { query: params.get("q") ?? "", topic: params.get("topic") ?? "", from, to, tz, interval, period, compare };
}

/** The URL parameters of a scope (relative periods stay relative, so a shared link keeps meaning "last 7 days"). */
export function scopeParams(s: Scope, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const custom = s.period === "custom";
  return {
    topic: s.topic || undefined,
    q: s.query || undefined,
    period: custom ? undefined : s.period,
    from: custom ? iso(s.from) : undefined,
    to: custom ? iso(s.to) : undefined,
    tz: s.tz,
    compare: s.compare.length ? s.compare.join(",") : undefined,
    ...extra,
  };
}

/** The proto InsightScope of a scope. */
export function insightScope(s: Scope, from = s.from, to = s.to): Record<string, unknown> {
  return { query: s.topic ? "" : s.query, topic: s.topic, from: iso(from), to: iso(to) };
}

export const INTERVAL_ENUM: Record<Interval, string> = {
  hour: "INTERVAL_HOUR",
  day: "INTERVAL_DAY",
  week: "INTERVAL_WEEK",
  month: "INTERVAL_MONTH",
};

/**
 * The drill-down link: Search over the mentions behind a chart point, bar or term — the scope's topic or
 * query narrowed by `filter` (a query) over [from, to).
 */
export function drillHref(s: Scope, filter: string, from = s.from, to = s.to): string {
  const base = s.topic ? "" : s.query;
  const q = base && filter ? `(${base}) AND ${filter}` : base || filter;
  return href("search", { topic: s.topic || undefined, q: q || undefined, from: iso(from), to: iso(to), tz: s.tz });
}

/** A value quoted for the query language when it is not a bare word. */
export function quoted(value: string): string {
  return /^[\p{L}\p{N}_@#.-]+$/u.test(value) ? value : `"${value.replace(/"/g, "")}"`;
}
