// Calendar arithmetic in an IANA time zone with nothing but Intl: periods start at local midnights so
// that day buckets are whole days where the analyst is, not in UTC.

const partsCache = new Map<string, Intl.DateTimeFormat>();

function partsFormat(tz: string): Intl.DateTimeFormat {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    partsCache.set(tz, f);
  }
  return f;
}

/** Local wall-clock fields of an instant in `tz`. */
export function localParts(ms: number, tz: string): { y: number; m: number; d: number; hh: number; mm: number; ss: number } {
  const p: Record<string, number> = {};
  for (const part of partsFormat(tz).formatToParts(new Date(ms))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  return { y: p.year, m: p.month, d: p.day, hh: p.hour % 24, mm: p.minute, ss: p.second };
}

/** Offset of `tz` from UTC at an instant, in ms. */
function offsetMs(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  return Date.UTC(p.y, p.m - 1, p.d, p.hh, p.mm, p.ss) - Math.floor(ms / 1000) * 1000;
}

/** The instant of a local wall-clock time in `tz` (the earlier one when a fall-back night repeats it). */
export function zonedInstant(y: number, m: number, d: number, hh = 0, tz = "UTC"): number {
  const guess = Date.UTC(y, m - 1, d, hh);
  // Two passes settle the offset on both sides of a DST change.
  let t = guess - offsetMs(guess, tz);
  t = guess - offsetMs(t, tz);
  return t;
}

/** Local midnight of the day `days` after the local day containing `ms`. */
export function localMidnight(ms: number, tz: string, days = 0): number {
  const p = localParts(ms, tz);
  const day = new Date(Date.UTC(p.y, p.m - 1, p.d + days));
  return zonedInstant(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0, tz);
}

/** "2026-11-29" of the local day containing `ms`. */
export function localDate(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  return `${p.y}-${String(p.m).padStart(2, "0")}-${String(p.d).padStart(2, "0")}`;
}

/** Parses "YYYY-MM-DD" as local midnight in `tz`, or a full RFC 3339 instant; NaN when neither. */
export function parseWhen(text: string, tz: string): number {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (date) return zonedInstant(Number(date[1]), Number(date[2]), Number(date[3]), 0, tz);
  return Date.parse(text);
}

/** RFC 3339 in UTC, as proto3 JSON wants Timestamps. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** Every zone the browser knows, the browser's own first. */
export function timeZones(): string[] {
  const own = browserZone();
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const all = intl.supportedValuesOf ? intl.supportedValuesOf("timeZone") : ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];
  return [own, ...all.filter((z) => z !== own)].concat(all.includes("UTC") || own === "UTC" ? [] : ["UTC"]);
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Whether `tz` is a zone Intl accepts. */
export function validZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A date and time in `tz`, short ("Nov 29, 14:00"). */
export function fmtTime(ms: number, tz: string, withYear = false): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: tz,
    year: withYear ? "numeric" : undefined,
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(ms));
}

/** A bucket's local label from the server ("2026-11-29T00:00:00+01:00") for an axis. */
export function bucketLabel(label: string, interval: string): string {
  if (interval === "hour") return label.slice(5, 16).replace("T", " ");
  if (interval === "month") return label.slice(0, 7);
  return label.slice(0, 10);
}
