// The scope form at the top of the overview and the CIO view: topic or query, period, time zone.
// Submitting it changes the URL (and so the view); nothing is kept anywhere else.

import { topics } from "./api";
import { h } from "./dom";
import { href, navigate, PERIODS, scopeParams, type Page, type Scope } from "./route";
import { localDate, timeZones } from "./time";

export function scopeBar(page: Page, s: Scope): HTMLElement {
  const topicSel = h("select", { id: "scope-topic", name: "topic" }, h("option", { value: "" }, "— none (use the query) —"));
  // Topics load in the background; the current one is an option at once so the form shows it.
  if (s.topic) topicSel.append(h("option", { value: s.topic, selected: true }, s.topic));
  topics("ListTopics")
    .then((r) => {
      for (const t of r.topics ?? []) {
        if (t.name === s.topic) continue;
        topicSel.append(h("option", { value: t.name }, t.name));
      }
    })
    .catch(() => {
      // The page's own panels report errors; a missing list only leaves the select short.
    });
  const query = h("input", { id: "scope-query", name: "q", type: "search", value: s.query, placeholder: "e.g. acme AND (outage OR down)", autocomplete: "off", spellcheck: "false" });
  const period = h("select", { id: "scope-period", name: "period" }, PERIODS.map(([v, label]) => h("option", { value: v, selected: v === s.period }, label)));
  const from = h("input", { id: "scope-from", type: "date", value: localDate(s.from, s.tz) });
  const to = h("input", { id: "scope-to", type: "date", value: localDate(s.to - 1, s.tz) });
  const fromField = h("div", { class: "field", hidden: s.period !== "custom" }, h("label", { for: "scope-from" }, "From"), from);
  const toField = h("div", { class: "field", hidden: s.period !== "custom" }, h("label", { for: "scope-to" }, "Through"), to);
  period.addEventListener("change", () => (fromField.hidden = toField.hidden = period.value !== "custom"));
  const zones = h("select", { id: "scope-tz", name: "tz" }, timeZones().map((z) => h("option", { value: z, selected: z === s.tz }, z)));
  if (![...zones.options].some((o) => o.value === s.tz)) zones.prepend(h("option", { value: s.tz, selected: true }, s.tz));

  const form = h(
    "form",
    { class: "scope", role: "search", "aria-label": "Scope" },
    h("div", { class: "field" }, h("label", { for: "scope-topic" }, "Topic"), topicSel),
    h("div", { class: "field grow" }, h("label", { for: "scope-query" }, "or query"), query),
    h("div", { class: "field" }, h("label", { for: "scope-period" }, "Period"), period),
    fromField,
    toField,
    h("div", { class: "field" }, h("label", { for: "scope-tz" }, "Time zone"), zones),
    h("button", { type: "submit", class: "primary" }, "Show"),
    h("a", { href: href(page === "cio" ? "overview" : "cio", scopeParams(s)), class: "switch" }, page === "cio" ? "Marketing view" : "CIO view"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next: Scope = { ...s, topic: topicSel.value, query: topicSel.value ? "" : query.value.trim(), tz: zones.value, period: period.value };
    const params = scopeParams(next);
    if (period.value === "custom") {
      params.from = from.value;
      params.to = to.value;
    }
    navigate(page, params);
  });
  return form;
}
