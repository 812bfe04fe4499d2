// Export of search results, made in the browser: every page of the search is fetched (up to a cap) and
// written as CSV or JSON lines, so nothing new is needed on the server.

import { search } from "./api";

export const EXPORT_CAP = 10_000;

const COLUMNS = ["id", "created_at", "source", "author_handle", "author_followers", "language", "country", "engagement_type", "sentiment", "sentiment_score", "likes", "shares", "replies", "url", "text"];

// Answers carry every field, defaults included: an UNSPECIFIED enum means "not given".
const short = (v: string | undefined, prefix: string) => {
  const name = (v ?? "").replace(prefix, "").toLowerCase();
  return name === "unspecified" ? "" : name;
};

function row(m: any): (string | number)[] {
  return [
    m.id ?? "",
    m.createdAt ?? "",
    short(m.source, "SOURCE_NETWORK_"),
    m.author?.handle ?? "",
    m.author?.followers ?? 0,
    m.language ?? "",
    m.country ?? "",
    short(m.engagementType, "ENGAGEMENT_TYPE_"),
    short(m.sentiment, "SENTIMENT_") || "unclassified",
    m.sentimentScore ?? 0,
    m.counts?.likes ?? 0,
    m.counts?.shares ?? 0,
    m.counts?.replies ?? 0,
    m.url ?? "",
    m.text ?? "",
  ];
}

/** RFC 4180: quote a field when it has a comma, quote or line break; double the quotes. */
export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(mentions: any[]): string {
  return [COLUMNS.join(","), ...mentions.map((m) => row(m).map(csvField).join(","))].join("\r\n") + "\r\n";
}

export function toJsonLines(mentions: any[]): string {
  return mentions.map((m) => JSON.stringify(m)).join("\n") + (mentions.length ? "\n" : "");
}

/** Every mention of a search request, page by page, up to EXPORT_CAP. */
export async function fetchAll(request: Record<string, unknown>, progress: (n: number) => void): Promise<any[]> {
  const out: any[] = [];
  let pageToken = "";
  do {
    const r = await search("Search", { ...request, pageSize: 1000, pageToken, highlight: false });
    for (const hit of r.hits ?? []) out.push(hit.mention);
    progress(out.length);
    pageToken = r.nextPageToken ?? "";
  } while (pageToken && out.length < EXPORT_CAP);
  return out.slice(0, EXPORT_CAP);
}

/** Hands a text to the browser as a file download. */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
