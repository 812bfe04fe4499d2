// Search: the query editor (validated as the analyst types), optional topic and period, results with
// highlights, more pages on demand, and export of every result as CSV or JSON lines.

import { search, topics, num } from "../api";
import { h, replace } from "../dom";
import { queryEditor } from "../editor";
import { download, EXPORT_CAP, fetchAll, toCsv, toJsonLines } from "../export";
import { int } from "../fmt";
import { errorBox } from "../load";
import { href, navigate, PERIODS, scopeOf } from "../route";
import { fmtTime, iso } from "../time";

const SORTS: [string, string][] = [
  ["SORT_ORDER_TIME_DESC", "Newest first"],
  ["SORT_ORDER_TIME_ASC", "Oldest first"],
  ["SORT_ORDER_RELEVANCE", "Most relevant"],
];

/** The server's highlight ("…<b>acme</b>…", HTML-escaped) as text with <mark>s, through an inert parser. */
export function highlighted(html: string): Node[] {
  const doc = new DOMParser().parseFromString(`<div>${html}</div>`, "text/html");
  const out: Node[] = [];
  doc.body.firstChild?.childNodes.forEach((n) => {
    if (n.nodeName === "B") out.push(h("mark", {}, n.textContent ?? ""));
    else out.push(document.createTextNode(n.textContent ?? ""));
  });
  return out;
}

// Answers carry every field, defaults included: an UNSPECIFIED enum means "not given".
const label = (v: string | undefined, prefix: string) => {
  const name = (v ?? "").replace(prefix, "").toLowerCase();
  return name === "unspecified" ? "" : name;
};

function hitItem(hit: any, tz: string): HTMLElement {
  const m = hit.mention ?? {};
  const sentiment = label(m.sentiment, "SENTIMENT_") || "unclassified";
  const when = m.createdAt ? fmtTime(Date.parse(m.createdAt), tz, true) : "";
  return h(
    "li",
    { class: "hit", "data-id": m.id },
    h(
      "div",
      { class: "hit-meta" },
      h("span", { class: `badge ${sentiment}` }, sentiment),
      h("strong", {}, m.author?.handle ? `@${m.author.handle}` : m.author?.displayName ?? ""),
      m.author?.followers ? h("span", { class: "muted" }, ` ${int(num(m.author.followers))} followers`) : null,
      h("span", { class: "muted" }, ` · ${label(m.source, "SOURCE_NETWORK_")} · ${when}`),
      m.language ? h("span", { class: "muted" }, ` · ${m.language}`) : null,
      m.url ? [" · ", h("a", { href: m.url, rel: "noopener noreferrer", target: "_blank" }, "original")] : null,
    ),
    h("p", { class: "hit-text" }, hit.highlight ? highlighted(hit.highlight) : m.text ?? ""),
  );
}

export function searchPage(main: HTMLElement, params: URLSearchParams): void {
  const tz = scopeOf(params).tz;
  const topic = params.get("topic") ?? "";
  const q = params.get("q") ?? "";
  const sort = params.get("sort") ?? "SORT_ORDER_TIME_DESC";
  // A drill-down carries exact instants; otherwise a relative period (or any time).
  const hasRange = Boolean(params.get("from") && params.get("to"));
  const range = hasRange ? scopeOf(params) : params.get("period") && params.get("period") !== "all" ? scopeOf(params) : null;

  const editor = queryEditor("search-query", q, "Query");
  const topicSel = h("select", { id: "search-topic" }, h("option", { value: "" }, "— any —"));
  if (topic) topicSel.append(h("option", { value: topic, selected: true }, topic));
  topics("ListTopics")
    .then((r) => (r.topics ?? []).forEach((t: any) => t.name !== topic && topicSel.append(h("option", { value: t.name }, t.name))))
    .catch(() => undefined);
  const periodSel = h(
    "select",
    { id: "search-period" },
    h("option", { value: "all" }, "Any time"),
    PERIODS.filter(([p]) => p !== "custom").map(([v, l]) => h("option", { value: v, selected: !hasRange && v === params.get("period") }, l)),
    hasRange ? h("option", { value: "range", selected: true }, `${fmtTime(range!.from, tz, true)} – ${fmtTime(range!.to, tz, true)}`) : null,
  );
  const sortSel = h("select", { id: "search-sort" }, SORTS.map(([v, l]) => h("option", { value: v, selected: v === sort }, l)));
  const form = h(
    "form",
    { class: "search-form", role: "search", "aria-label": "Search mentions" },
    editor.root,
    h(
      "div",
      { class: "row" },
      h("div", { class: "field" }, h("label", { for: "search-topic" }, "Within topic"), topicSel),
      h("div", { class: "field" }, h("label", { for: "search-period" }, "Period"), periodSel),
      h("div", { class: "field" }, h("label", { for: "search-sort" }, "Order"), sortSel),
      h("button", { type: "submit", class: "primary" }, "Search"),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const keepRange = periodSel.value === "range";
    navigate("search", {
      q: editor.textarea.value.trim(),
      topic: topicSel.value,
      period: keepRange || periodSel.value === "all" ? undefined : periodSel.value,
      from: keepRange ? params.get("from") ?? undefined : undefined,
      to: keepRange ? params.get("to") ?? undefined : undefined,
      tz,
      sort: sort === "SORT_ORDER_TIME_DESC" && sortSel.value === sort ? undefined : sortSel.value,
    });
  });

  const results = h("section", { class: "results", "aria-label": "Results", "data-testid": "results", "aria-busy": "true" });
  main.append(h("h1", {}, "Search"), form, results);

  // A topic and a query together: the topic's own query AND the typed one.
  const request: Record<string, unknown> = {
    query: topic && q ? `topic:"${topic}" AND (${q})` : q,
    topic: topic && !q ? topic : "",
    sort,
    timeRange: range ? { from: iso(range.from), to: iso(range.to) } : undefined,
  };
  void runSearch(results, request, tz);
  if (!q && !topic) editor.textarea.focus();
}

async function runSearch(results: HTMLElement, request: Record<string, unknown>, tz: string): Promise<void> {
  replace(results, h("p", { class: "muted" }, "Searching…"));
  const list = h("ol", { class: "hits" });
  const status = h("p", { class: "result-count", "data-testid": "result-count", "aria-live": "polite" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const exportNote = h("span", { class: "muted", "aria-live": "polite" });
  let total = 0;
  const exporter = (kind: "csv" | "jsonl") => async () => {
    exportNote.textContent = " Preparing…";
    try {
      const all = await fetchAll(request, (n) => (exportNote.textContent = ` ${int(n)} of ${int(Math.min(total, EXPORT_CAP))}…`));
      if (kind === "csv") download("earshot-mentions.csv", "text/csv", toCsv(all));
      else download("earshot-mentions.jsonl", "application/x-ndjson", toJsonLines(all));
      exportNote.textContent = ` ${int(all.length)} mentions exported${total > EXPORT_CAP ? ` (the first ${int(EXPORT_CAP)})` : ""}.`;
    } catch (e) {
      exportNote.replaceChildren(errorBox(e));
    }
  };
  let token = "";
  const page = async () => {
    more.disabled = true;
    const r = await search("Search", { ...request, pageSize: 50, pageToken: token, highlight: true });
    total = num(r.total);
    for (const hit of r.hits ?? []) list.append(hitItem(hit, tz));
    token = r.nextPageToken ?? "";
    more.hidden = !token;
    more.disabled = false;
    status.textContent = `${int(total)} mentions${list.children.length < total ? `, showing ${int(list.children.length)}` : ""}`;
  };
  more.addEventListener("click", () => void page().catch((e) => results.append(errorBox(e))));
  try {
    await page();
  } catch (e) {
    replace(results, errorBox(e));
    results.setAttribute("aria-busy", "false");
    return;
  }
  replace(
    results,
    h(
      "div",
      { class: "results-head" },
      status,
      h(
        "div",
        { class: "export" },
        h("button", { type: "button", onclick: exporter("csv"), disabled: total === 0 }, "Export CSV"),
        h("button", { type: "button", onclick: exporter("jsonl"), disabled: total === 0 }, "Export JSON lines"),
        exportNote,
      ),
    ),
    total ? list : h("p", { class: "empty" }, "No mention matches.", " ", h("a", { href: href("search") }, "Clear the search")),
    more,
  );
  results.setAttribute("aria-busy", "false");
}
