// Alerts: the tenant's alert rules (create, enable/disable, delete) and the alerts themselves, arriving
// live over InsightsService/WatchAlerts (an NDJSON stream read with fetch), newest first.

import { insights, num, stream, topics } from "../api";
import { empty, h, replace } from "../dom";
import { fixed, int } from "../fmt";
import { errorBox } from "../load";
import { drillHref, scopeOf } from "../route";
import { fmtTime } from "../time";
import { spikeItem } from "./overview_panels";

const METRICS: [string, string][] = [
  ["SPIKE_METRIC_VOLUME", "All mentions"],
  ["SPIKE_METRIC_NEGATIVE", "Negative mentions"],
];
const metricName = (m: string | undefined) => METRICS.find(([v]) => v === m)?.[1] ?? "All mentions";

export function alertsPage(main: HTMLElement, params: URLSearchParams): () => void {
  const tz = scopeOf(params).tz;
  const rulesBox = h("section", { class: "panel", "aria-label": "Alert rules", "data-testid": "rules", "aria-busy": "true" });
  const formBox = h("section", { class: "panel", "aria-label": "New alert rule" });
  const feedState = h("p", { class: "muted", "data-testid": "live-state", "aria-live": "polite" }, "Connecting to the live feed…");
  const feed = h("ol", { class: "alerts", "data-testid": "live-alerts", "aria-live": "polite" });
  const noAlerts = empty("No alert since this page opened. New ones appear here as they fire.");
  main.append(
    h("h1", {}, "Alerts"),
    h("div", { class: "grid two" }, rulesBox, formBox),
    h("section", { class: "panel", "aria-label": "Live alerts" }, h("h2", {}, "Live alerts"), feedState, noAlerts, feed),
  );

  const refresh = async () => {
    try {
      const r = await insights("ListAlertRules");
      const rules: any[] = r.rules ?? [];
      replace(rulesBox, h("h2", {}, "Rules"), rules.length ? rulesTable(rules) : empty("No rule yet. A rule watches a saved topic for spikes."));
    } catch (e) {
      replace(rulesBox, h("h2", {}, "Rules"), errorBox(e));
    }
    rulesBox.setAttribute("aria-busy", "false");
  };

  const rulesTable = (rules: any[]) =>
    h(
      "table",
      { class: "data" },
      h("thead", {}, h("tr", {}, ["Topic", "Watches", "Threshold", "Fired", "Last checked", ""].map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rules.map((rule) =>
          h(
            "tr",
            { "data-rule": rule.id },
            h("th", { scope: "row" }, rule.topic, rule.enabled ? null : h("span", { class: "badge" }, "off")),
            h("td", {}, metricName(rule.metric)),
            h("td", {}, `z ≥ ${fixed(rule.settings?.threshold || 4, 1)}, ≥ ${rule.settings?.minCount || 10} per ${rule.settings?.bucketSeconds || 3600} s`),
            h("td", { class: "num" }, int(num(rule.fired))),
            h("td", {}, rule.lastEvaluatedAt ? fmtTime(Date.parse(rule.lastEvaluatedAt), tz) : "never"),
            h(
              "td",
              { class: "actions" },
              h("button", { type: "button", onclick: () => toggle(rule) }, rule.enabled ? "Disable" : "Enable"),
              h("button", { type: "button", class: "danger", "aria-label": `Delete the rule on ${rule.topic}`, onclick: () => confirm(`Delete this rule on “${rule.topic}”?`) && act(() => insights("DeleteAlertRule", { id: rule.id })) }, "Delete"),
            ),
          ),
        ),
      ),
    );

  // Saving a rule replaces it whole, and the webhook secret is write-only (never listed): a rule with a
  // webhook needs its secret again to be saved.
  const toggle = (rule: any) => {
    let webhookSecret = "";
    if (rule.webhookUrl) {
      webhookSecret = prompt(`The webhook secret of this rule (${rule.webhookUrl}), to save it again:`) ?? "";
      if (!webhookSecret) return;
    }
    const { id, topic, metric, settings, webhookUrl } = rule;
    void act(() => insights("PutAlertRule", { id, topic, metric, settings, webhookUrl, webhookSecret, enabled: !rule.enabled }));
  };

  const act = async (f: () => Promise<unknown>) => {
    try {
      await f();
      await refresh();
    } catch (e) {
      rulesBox.append(errorBox(e));
    }
  };

  // The form.
  const topicSel = h("select", { id: "rule-topic", required: true }, h("option", { value: "" }, "Choose a topic"));
  topics("ListTopics")
    .then((r) => (r.topics ?? []).forEach((t: any) => topicSel.append(h("option", { value: t.name }, t.name))))
    .catch((e) => formBox.append(errorBox(e)));
  const metric = h("select", { id: "rule-metric" }, METRICS.map(([v, l]) => h("option", { value: v }, l)));
  const numberInput = (id: string, value: string, step = "1") => h("input", { id, type: "number", min: "0", step, value, inputmode: "decimal" });
  const threshold = numberInput("rule-threshold", "4", "0.1");
  const minCount = numberInput("rule-min-count", "10");
  const bucket = numberInput("rule-bucket", "3600");
  const baseline = numberInput("rule-baseline", "7");
  const webhook = h("input", { id: "rule-webhook", type: "url", placeholder: "http://hooks.example/earshot (optional)" });
  const secret = h("input", { id: "rule-secret", type: "password", autocomplete: "off" });
  const status = h("div", { "aria-live": "polite" });
  const field = (id: string, label: string, input: HTMLElement) => h("div", { class: "field" }, h("label", { for: id }, label), input);
  const form = h(
    "form",
    { class: "rule-form", "data-testid": "rule-form" },
    h("h2", {}, "New rule"),
    field("rule-topic", "Topic", topicSel),
    field("rule-metric", "Watch", metric),
    h(
      "div",
      { class: "row" },
      field("rule-threshold", "z-score threshold", threshold),
      field("rule-min-count", "Fewest mentions per bucket", minCount),
      field("rule-bucket", "Bucket (seconds)", bucket),
      field("rule-baseline", "Baseline days", baseline),
    ),
    field("rule-webhook", "Webhook URL", webhook),
    field("rule-secret", "Webhook secret", secret),
    h("button", { type: "submit", class: "primary" }, "Create rule"),
    status,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await insights("PutAlertRule", {
        topic: topicSel.value,
        metric: metric.value,
        settings: { threshold: Number(threshold.value), minCount: Number(minCount.value), bucketSeconds: Number(bucket.value), baselineDays: Number(baseline.value) },
        webhookUrl: webhook.value.trim(),
        webhookSecret: secret.value,
        enabled: true,
      });
      replace(status, h("p", { class: "ok" }, `Watching “${topicSel.value}”.`));
      await refresh();
    } catch (err) {
      replace(status, errorBox(err));
    }
  });
  formBox.append(form);

  // The live feed, reconnecting with a growing pause when the stream ends or fails.
  const abort = new AbortController();
  const onAlert = (a: any) => {
    noAlerts.hidden = true;
    void refresh(); // the rule's "fired" count moved
    const topic = a.topic ?? "";
    const sp = a.spike ?? {};
    const s = { ...scopeOf(new URLSearchParams({ tz })), topic, query: "" };
    feed.prepend(
      h(
        "li",
        { class: "alert", "data-rule": a.ruleId, "data-testid": "alert" },
        h("strong", {}, topic), ` — ${metricName(a.metric).toLowerCase()} spiked`,
        h("span", { class: "muted" }, ` (fired ${a.firedAt ? fmtTime(Date.parse(a.firedAt), tz) : "now"})`),
        h("ul", {}, spikeItem(s, sp)),
        h("a", { href: drillHref(s, "", Date.parse(sp.start), Date.parse(sp.end)) }, "Open the mentions"),
      ),
    );
  };
  void (async () => {
    let pause = 1000;
    while (!abort.signal.aborted) {
      try {
        await stream("earshot.v1.InsightsService", "WatchAlerts", {}, onAlert, abort.signal, () => {
          feedState.textContent = "Live: connected, waiting for alerts.";
          feedState.dataset.state = "open";
        });
        pause = 1000;
      } catch (e) {
        if (abort.signal.aborted) return;
        feedState.textContent = `Live feed interrupted: ${(e as Error).message}. Reconnecting…`;
        feedState.dataset.state = "error";
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 30_000);
    }
  })();

  void refresh();
  return () => abort.abort();
}
