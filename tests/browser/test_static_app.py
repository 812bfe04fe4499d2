"""The built app on its own, served by a stand-in for earshot's HTTP listener (static files + a fake API
that wants a key): it loads without script errors, asks for a key, keeps it for the tab only, shows
empty states in words, and loads nothing from another origin. Needs no earshot binary."""

import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from conftest import ROOT, css, js_errors, loaded, open_page, screenshot, text, wait

DIST = ROOT / "services" / "web" / "app" / "dist"
KEY = "esk_test_secret"


class FakeEarshot(SimpleHTTPRequestHandler):
    requests: list[tuple[str, str | None]] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        # Like the real listener: unknown paths get the app, whose router reads the URL.
        if not (DIST / self.path.split("?")[0].lstrip("/")).is_file():
            self.path = "/index.html"
        super().do_GET()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        auth = self.headers.get("authorization")
        FakeEarshot.requests.append((self.path, auth))
        if auth != f"Bearer {KEY}":
            return self.reply(401, {"code": "UNAUTHENTICATED", "message": "missing or unknown API key"})
        if self.path.endswith("/WhoAmI"):
            return self.reply(200, {"keyId": "k1", "tenant": "acme", "roles": ["analyst"]})
        if self.path.endswith("/Validate"):
            return self.reply(200, {"problems": [{"message": "this parenthesis is never closed", "start": 5, "end": 6}]})
        # Every other read answers with defaults omitted, as proto3 JSON does for an empty tenant.
        return self.reply(200, {})

    def reply(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def fake():
    if not (DIST / "index.html").exists():
        pytest.fail("services/web/app/dist is missing: run services/web/build.sh")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(FakeEarshot, directory=str(DIST)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_signs_in_with_a_key_kept_for_the_tab(driver, fake):
    driver.get(f"{fake}/")
    driver.execute_script("sessionStorage.clear()")
    open_page(driver, fake, "/overview")
    form = css(driver, "[data-testid=signin]")
    assert "needs an API key" in form.text
    screenshot(driver, "signin")
    driver.find_element(By.ID, "api-key").send_keys(KEY)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text(css(driver, "[data-testid=tenant]")) == "acme"
    assert driver.execute_script("return sessionStorage.getItem('earshot.apiKey')") == KEY
    assert driver.execute_script("return localStorage.length") == 0
    assert KEY not in driver.current_url
    # Empty tenant: every panel ends in words, not a blank box.
    for panel in ["headline", "volume", "sov", "languages", "authors", "terms", "spikes"]:
        loaded(driver, panel)
    assert "No mentions in this period" in text(driver.find_element(By.CSS_SELECTOR, "[data-testid=volume]"))
    assert text(driver.find_element(By.CSS_SELECTOR, "[data-testid=total]")) == "0"
    assert js_errors(driver) == []


def test_a_refused_key_shows_the_servers_words(driver, fake):
    open_page(driver, fake, "/search")
    driver.execute_script("sessionStorage.setItem('earshot.apiKey', 'esk_wrong')")
    driver.refresh()
    form = css(driver, "[data-testid=signin]")
    wait(driver).until(lambda d: "refused" in form.text)
    assert "missing or unknown API key" in form.text


def test_editor_marks_the_span_the_server_names(driver, fake):
    open_page(driver, fake, "/search")
    driver.execute_script(f"sessionStorage.setItem('earshot.apiKey', '{KEY}')")
    driver.refresh()
    box = css(driver, "#search-query")
    box.send_keys("acme (outage")
    mark = css(driver, "[data-testid=query-marks] mark.problem")
    assert text(mark) == "("  # bytes 5..6
    assert "never closed" in text(driver.find_element(By.CSS_SELECTOR, "[data-testid=problems]"))
    assert box.get_attribute("aria-invalid") == "true"


def test_every_page_draws_and_nothing_comes_from_elsewhere(driver, fake):
    open_page(driver, fake, "/overview")
    driver.execute_script(f"sessionStorage.setItem('earshot.apiKey', '{KEY}')")
    for page in ["overview", "search", "topics", "alerts", "cio"]:
        open_page(driver, fake, f"/{page}")
        css(driver, f"main[data-page={page}] h1")
        current = driver.find_element(By.CSS_SELECTOR, "nav a[aria-current=page]")
        assert current.get_attribute("href").endswith(f"#/{page}")
    origins = driver.execute_script("return performance.getEntriesByType('resource').map(e => new URL(e.name).origin)")
    assert set(origins) <= {fake}, origins
    assert js_errors(driver) == []


def test_keyboard_reaches_the_skip_link_and_pages(driver, fake):
    from selenium.webdriver.common.keys import Keys

    open_page(driver, fake, "/overview")
    driver.execute_script(f"sessionStorage.setItem('earshot.apiKey', '{KEY}')")
    driver.refresh()
    css(driver, "[data-testid=tenant]")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    active = driver.switch_to.active_element
    assert active.text == "Skip to content"
    # The next stops are the navigation links, real links with their own URLs.
    active.send_keys(Keys.TAB, Keys.TAB, Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("href").endswith("#/search")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    css(driver, "main[data-page=search]")
