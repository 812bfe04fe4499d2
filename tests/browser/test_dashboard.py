"""The dashboard against the real earshot (`--auth off`) on a seeded corpus: the overview's numbers are
the API's for the same scope, drill-downs open those mentions, the query editor marks a mistake at its
span, a new topic appears in share of voice, and an alert fired by a planted spike arrives live."""

import json
import os
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import corpus
from conftest import Api, Server, css, js_errors, loaded, number, open_page, screenshot, text, wait

TZ = "Europe/Berlin"


@pytest.fixture(scope="module")
def earshot(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("data"), "--auth", "off", "--alert-interval-ms", "200")
    api = Api(server.http)
    server.wait_ready(api)
    now = time.time()
    corpus.ingest(api, corpus.mentions(now))
    corpus.kpi_orders(api, now)
    for name, query in [("Acme", "acme"), ("Globex", "globex")]:
        api.call("TopicService", "CreateTopic", {"name": name, "query": query})
    if os.environ.get("EARSHOT_BROWSER_CLASSIFIER") == "1":
        # Mentions that arrived before the model was loaded are labelled by a background job: wait for it.
        deadline = time.monotonic() + 180
        while int(api.call("SearchService", "Count", {"query": "sentiment:unclassified"}).get("count", 0)) and time.monotonic() < deadline:
            time.sleep(0.5)
    yield server.http, api
    server.stop()


def week_in(tz: str) -> tuple[str, str]:
    """[local midnight 6 days ago, next local midnight) as UTC instants, the way the app writes them."""
    zone = ZoneInfo(tz)
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    start = (today - timedelta(days=6)).replace(tzinfo=None).replace(tzinfo=zone)
    end = (today + timedelta(days=1)).replace(tzinfo=None).replace(tzinfo=zone)
    z = lambda d: d.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return z(start), z(end)


def rows(driver, testid: str) -> list[list[str]]:
    table = driver.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")
    return [[text(c) for c in tr.find_elements(By.CSS_SELECTOR, "th, td")] for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def test_overview_numbers_are_the_apis(driver, earshot):
    base, api = earshot
    frm, to = week_in(TZ)
    open_page(driver, base, f"/overview?topic=Acme&from={frm}&to={to}&tz={TZ}")
    for p in ["headline", "volume", "sov", "languages", "authors", "terms", "spikes"]:
        loaded(driver, p)
    scope = {"topic": "Acme", "from": frm, "to": to}

    summary = api.call("InsightsService", "SentimentSummary", {"scope": scope})
    assert number(text(driver.find_element(By.CSS_SELECTOR, "[data-testid=total]"))) == int(summary["current"]["total"]) > 0

    volume = api.call("InsightsService", "Volume", {"scope": scope, "interval": "INTERVAL_DAY", "timeZone": TZ, "splitBy": "DIMENSION_SENTIMENT"})
    page = rows(driver, "volume-table")
    assert [r[0] for r in page] == [b["label"][:10] for b in volume["buckets"]]
    assert [number(r[1]) for r in page] == [int(b.get("total", 0)) for b in volume["buckets"]]
    labels = ["positive", "neutral", "negative", "unclassified"]
    assert [[number(c) for c in r[2:]] for r in page] == [[int(b.get("split", {}).get(l, 0)) for l in labels] for b in volume["buckets"]]

    sov_page = {r[0]: number(r[1]) for r in rows(driver, "sov-table")}
    sov = api.call("InsightsService", "ShareOfVoice", {"topics": list(sov_page), "scope": {"from": frm, "to": to}})
    assert sov_page == {t["topic"]: int(t.get("volume", 0)) for t in sov["topics"]}
    assert {"Acme", "Globex"} <= set(sov_page)

    langs = api.call("InsightsService", "Volume", {"scope": scope, "interval": "INTERVAL_DAY", "timeZone": TZ, "splitBy": "DIMENSION_LANGUAGE"})
    want = {}
    for b in langs["buckets"]:
        for k, v in b.get("split", {}).items():
            want[k] = want.get(k, 0) + int(v)
    assert {r[0]: number(r[1]) for r in rows(driver, "languages-table")} == {k: v for k, v in want.items() if v}

    authors = api.call("InsightsService", "TopAuthors", {"scope": scope, "limit": 10})
    assert [(r[0], number(r[1]), number(r[2])) for r in rows(driver, "authors-table")] == [
        (f"@{a['handle']}", int(a.get("followers", 0)), int(a.get("mentions", 0))) for a in authors["byReach"]
    ]

    terms = api.call("InsightsService", "TrendingTerms", {"scope": scope, "limit": 15})
    page_terms = [text(a) for a in driver.find_elements(By.CSS_SELECTOR, "[data-testid=terms-significant] a")]
    assert page_terms == [t["term"] for t in terms.get("significant", [])]
    screenshot(driver, "overview")
    assert js_errors(driver) == []


def test_a_bar_opens_the_mentions_behind_it(driver, earshot):
    base, api = earshot
    frm, to = week_in(TZ)
    open_page(driver, base, f"/overview?topic=Acme&from={frm}&to={to}&tz={TZ}")
    loaded(driver, "volume")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=volume] details summary").click()
    # The busiest day's total: the link a click on its bar also follows.
    links = driver.find_elements(By.CSS_SELECTOR, "[data-testid=volume-table] tbody tr td:nth-child(2) a")
    busiest = max(links, key=lambda a: number(text(a)))
    expected = number(text(busiest))
    busiest.click()
    count = css(driver, "[data-testid=result-count]")
    wait(driver).until(lambda d: text(count))
    assert number(text(count).split()[0]) == expected
    assert len(driver.find_elements(By.CSS_SELECTOR, ".hits .hit")) == min(expected, 50)
    assert "topic=Acme" in driver.current_url and "from=" in driver.current_url


def test_a_mistake_is_marked_at_its_span(driver, earshot):
    base, api = earshot
    open_page(driver, base, "/search")
    query = "café AND (outage OR"  # é is two bytes: the spans are byte offsets
    box = css(driver, "#search-query")
    box.send_keys(query)
    problems = api.call("SearchService", "Validate", {"query": query}).get("problems", [])
    assert problems, "the query has mistakes"
    items = wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=problems] li") if len(d.find_elements(By.CSS_SELECTOR, "[data-testid=problems] li")) == len(problems) else False)
    for p, li in zip(sorted(problems, key=lambda p: p.get("start", 0)), items):
        assert p["message"] in text(li)
    marked = [text(m) for m in driver.find_elements(By.CSS_SELECTOR, "[data-testid=query-marks] mark.problem:not(.point)")]
    raw = query.encode()
    for p in problems:
        start, end = p.get("start", 0), p.get("end", 0)
        if end > start:
            assert raw[start:end].decode() in marked, (p, marked)
    assert box.get_attribute("aria-invalid") == "true"
    screenshot(driver, "search-mistake")
    # Fixing it clears the marks, and Enter searches with highlights.
    box.send_keys(" down)")
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=problems] li"))
    box.clear()
    box.send_keys("acme AND (outage OR down)", Keys.ENTER)
    count = css(driver, "[data-testid=result-count]")
    want = int(api.call("SearchService", "Count", {"query": "acme AND (outage OR down)"}).get("count", 0))
    wait(driver).until(lambda d: text(count))
    assert number(text(count).split()[0]) == want > 0
    assert driver.find_elements(By.CSS_SELECTOR, ".hit-text mark")
    badges = {text(b) for b in driver.find_elements(By.CSS_SELECTOR, ".hit .badge")}
    assert badges and badges <= {"positive", "neutral", "negative", "unclassified"}, badges
    screenshot(driver, "search")
    # Export: every result, written by the browser as CSV (header + one line each) and as JSON lines.
    driver.find_element(By.XPATH, "//button[text()='Export CSV']").click()
    wait(driver).until(lambda d: (driver.downloads / "earshot-mentions.csv").exists())
    lines = (driver.downloads / "earshot-mentions.csv").read_text().splitlines()
    assert lines[0].startswith("id,created_at,source") and len(lines) == want + 1
    driver.find_element(By.XPATH, "//button[text()='Export JSON lines']").click()
    wait(driver).until(lambda d: (driver.downloads / "earshot-mentions.jsonl").exists())
    rows = [json.loads(l) for l in (driver.downloads / "earshot-mentions.jsonl").read_text().splitlines()]
    assert len(rows) == want and all("acme" in r["text"] for r in rows)


def test_a_new_topic_appears_in_share_of_voice(driver, earshot):
    base, api = earshot
    open_page(driver, base, "/topics")
    css(driver, "[data-testid=topics-list][aria-busy=false]")
    driver.find_element(By.ID, "topic-name").send_keys("Initech")
    driver.find_element(By.ID, "topic-query").send_keys("initech")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=topic-form] button[type=submit]").click()
    css(driver, "[data-testid=topics-list] tr[data-topic=Initech]")
    screenshot(driver, "topics")
    frm, to = week_in(TZ)
    open_page(driver, base, f"/overview?from={frm}&to={to}&tz={TZ}")
    loaded(driver, "sov")
    sov_page = {r[0]: number(r[1]) for r in rows(driver, "sov-table")}
    want = api.call("InsightsService", "ShareOfVoice", {"topics": ["Initech"], "scope": {"from": frm, "to": to}})
    assert sov_page["Initech"] == int(want["topics"][0].get("volume", 0)) > 0


def test_a_topic_is_edited_and_deleted(driver, earshot):
    base, api = earshot
    api.call("TopicService", "CreateTopic", {"name": "Scratch", "query": "scratch"})
    open_page(driver, base, "/topics")
    css(driver, "[data-testid=topics-list] tr[data-topic=Scratch] button[aria-label='Edit Scratch']").click()
    query = css(driver, "#topic-query")
    query.clear()
    query.send_keys("scratch OR draft")
    driver.find_element(By.CSS_SELECTOR, "[data-testid=topic-form] button[type=submit]").click()
    wait(driver).until(lambda d: "scratch OR draft" in text(d.find_element(By.CSS_SELECTOR, "tr[data-topic=Scratch]")))
    assert api.call("TopicService", "GetTopic", {"topic": "Scratch"})["query"] == "scratch OR draft"
    driver.find_element(By.CSS_SELECTOR, "tr[data-topic=Scratch] button[aria-label='Delete Scratch']").click()
    driver.switch_to.alert.accept()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "tr[data-topic=Scratch]"))
    assert "Scratch" not in [t["name"] for t in api.call("TopicService", "ListTopics").get("topics", [])]


def test_first_page_is_the_last_7_days_of_everything(driver, earshot):
    base, api = earshot
    open_page(driver, base, "/")
    zone = driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone")
    frm, to = week_in(zone)
    loaded(driver, "headline")
    assert "All recent mentions" in text(driver.find_element(By.CSS_SELECTOR, "[data-testid=scope-title]"))
    want = int(api.call("SearchService", "Count", {"timeRange": {"from": frm, "to": to}}).get("count", 0))
    assert number(text(driver.find_element(By.CSS_SELECTOR, "[data-testid=total]"))) == want > 0


def test_a_planted_spike_arrives_live(driver, earshot):
    base, api = earshot
    hour = int(time.time()) // 3600 * 3600
    corpus.ingest(api, corpus.spike_baseline(hour))
    api.call("TopicService", "CreateTopic", {"name": "Zeta", "query": "zeta"})
    open_page(driver, base, "/alerts")
    wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=live-state]").get_attribute("data-state") == "open")
    # The rule is made in the page; the topic list loads in the background.
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rule-topic option[value=Zeta]"))
    driver.find_element(By.CSS_SELECTOR, "#rule-topic option[value=Zeta]").click()
    driver.find_element(By.CSS_SELECTOR, "[data-testid=rule-form] button[type=submit]").click()
    css(driver, "[data-testid=rules] tr[data-rule]")
    corpus.ingest(api, corpus.spike(hour))
    alert = css(driver, "[data-testid=live-alerts] [data-testid=alert]", timeout=60)
    assert "Zeta" in text(alert)
    assert "outage" in text(alert), "the spike says what drove it"
    assert driver.execute_script("return performance.getEntriesByType('navigation').length") == 1, "no reload"
    screenshot(driver, "alerts")


def test_cio_view(driver, earshot):
    base, api = earshot
    frm, to = week_in(TZ)
    open_page(driver, base, f"/cio?from={frm}&to={to}&tz={TZ}")
    for p in ["incident", "correlation", "perception"]:
        loaded(driver, p)
    corr = api.call("InsightsService", "Correlate", {"scope": {"from": frm, "to": to}, "kpi": "orders", "metric": "SERIES_METRIC_VOLUME", "interval": "INTERVAL_DAY"})
    assert text(driver.find_element(By.CSS_SELECTOR, "[data-testid=corr-statement]")) == corr["statement"]
    assert "not" in corr["statement"], "the statement says what the number does not prove"
    incident = api.call("InsightsService", "IncidentSignal", {"scope": {"from": frm, "to": to}})
    assert number(text(driver.find_element(By.CSS_SELECTOR, "[data-testid=incident-count]"))) == len(incident.get("incidents", []))
    screenshot(driver, "cio")
    assert js_errors(driver) == []
