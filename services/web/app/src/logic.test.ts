// Unit tests of the app's pure logic, run by Node's own test runner (`npm test`, from
// tests/browser/run.sh): time zones and DST, URL scopes, drill-down queries, byte spans, CSV.

import assert from "node:assert/strict";
import { test } from "node:test";
import { byteToIndex } from "./editor";
import { csvField, toCsv } from "./export";
import { drillHref, quoted, scopeOf } from "./route";
import { localMidnight, parseWhen, zonedInstant } from "./time";

test("byte offsets become string indices", () => {
  assert.equal(byteToIndex("acme (", 5), 5);
  assert.equal(byteToIndex("café AND (", 10), 9); // é is 2 bytes
  assert.equal(byteToIndex("😀 x", 5), 3); // 4 bytes, 2 UTF-16 units
  assert.equal(byteToIndex("ab", 99), 2);
});

test("local midnights follow daylight saving time", () => {
  // Europe/Berlin switched to summer time on 2024-03-31: that day has 23 hours.
  const mar31 = zonedInstant(2024, 3, 31, 0, "Europe/Berlin");
  assert.equal(new Date(mar31).toISOString(), "2024-03-30T23:00:00.000Z");
  assert.equal(localMidnight(mar31, "Europe/Berlin", 1) - mar31, 23 * 3600_000);
  assert.equal(new Date(zonedInstant(2024, 10, 27, 0, "Europe/Berlin")).toISOString(), "2024-10-26T22:00:00.000Z");
  assert.equal(new Date(parseWhen("2024-01-05", "America/New_York")).toISOString(), "2024-01-05T05:00:00.000Z");
  assert.equal(parseWhen("2024-01-05T10:00:00Z", "Asia/Tokyo"), Date.parse("2024-01-05T10:00:00Z"));
});

test("scopes read from the URL", () => {
  const now = Date.parse("2026-11-29T15:30:00Z");
  const week = scopeOf(new URLSearchParams("tz=Europe/Berlin"), now);
  assert.equal(week.period, "7d");
  assert.equal(new Date(week.from).toISOString(), "2026-11-22T23:00:00.000Z");
  assert.equal(new Date(week.to).toISOString(), "2026-11-29T23:00:00.000Z");
  assert.equal(week.interval, "day");
  const day = scopeOf(new URLSearchParams("period=24h&tz=UTC"), now);
  assert.equal(new Date(day.to).toISOString(), "2026-11-29T16:00:00.000Z");
  assert.equal(day.interval, "hour");
  const custom = scopeOf(new URLSearchParams("from=2026-11-01&to=2026-11-30&tz=UTC&topic=Acme"), now);
  assert.equal(custom.period, "custom");
  assert.equal(new Date(custom.to).toISOString(), "2026-12-01T00:00:00.000Z", "a date as the end includes that day");
  assert.equal(custom.topic, "Acme");
  assert.equal(scopeOf(new URLSearchParams("tz=Not/AZone"), now).tz.length > 0, true);
});

test("drill-downs narrow the scope's query", () => {
  const s = scopeOf(new URLSearchParams("q=acme OR globex&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&tz=UTC"));
  const url = new URLSearchParams(drillHref(s, "sentiment:negative").split("?")[1]);
  assert.equal(url.get("q"), "(acme OR globex) AND sentiment:negative");
  assert.equal(url.get("from"), "2026-11-01T00:00:00.000Z");
  const topic = scopeOf(new URLSearchParams("topic=Acme&tz=UTC"));
  const t = new URLSearchParams(drillHref(topic, "language:de").split("?")[1]);
  assert.equal(t.get("topic"), "Acme");
  assert.equal(t.get("q"), "language:de");
  assert.equal(quoted("#acmefail"), "#acmefail");
  assert.equal(quoted("not working"), '"not working"');
});

test("CSV fields are quoted when they must be", () => {
  assert.equal(csvField('say "hi", ok'), '"say ""hi"", ok"');
  assert.equal(csvField("plain"), "plain");
  const csv = toCsv([{ id: "1", text: "line\nbreak", sentiment: "SENTIMENT_NEGATIVE", source: "SOURCE_NETWORK_TWITTER" }]);
  assert.ok(csv.startsWith("id,created_at,source"));
  assert.ok(csv.includes(',twitter,') && csv.includes(',negative,') && csv.includes('"line\nbreak"'));
  assert.ok(toCsv([{ id: "2", sentiment: "SENTIMENT_UNSPECIFIED" }]).includes(",unclassified,"));
});
