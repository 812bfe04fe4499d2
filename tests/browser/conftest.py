"""Shared fixtures of the browser tests: headless Chromium (Debian's, through Debian's chromedriver),
the real `earshot` binary on port 0 in a temp dir, a small JSON API client, and screenshots.

Nothing here sleeps to synchronise: the server is ready when it printed its addresses and answers
WhoAmI; the page is ready when the element a test waits for is there (WebDriverWait polls)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
# Relative paths (CARGO_TARGET_DIR=target, EARSHOT_BIN=target/debug/earshot) are from the repository root,
# as cargo reads them, not from this directory where run.sh starts pytest.
TARGET = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
SHOTS = Path(os.environ.get("EARSHOT_SCREENSHOTS", TARGET / "browser-screenshots"))
WAIT_S = 30


def earshot_bin() -> Path:
    path = ROOT / os.environ.get("EARSHOT_BIN", TARGET / "debug" / "earshot")
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `cargo build -p earshot-cli` (tests/browser/run.sh does)")
    return path


class Api:
    """The JSON API as the dashboard calls it: POST /api/<service>/<Method>, proto3 JSON both ways."""

    def __init__(self, base: str, key: str | None = None, tenant: str | None = None):
        self.base, self.key, self.tenant = base.rstrip("/"), key, tenant

    def call(self, service: str, method: str, body: dict | None = None) -> dict:
        headers = {"content-type": "application/json"}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        if self.tenant:
            headers["x-earshot-tenant"] = self.tenant
        req = urllib.request.Request(
            f"{self.base}/api/earshot.v1.{service}/{method}", data=json.dumps(body or {}).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as res:
                return json.loads(res.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode(errors="replace")) from None


class ApiError(Exception):
    def __init__(self, status: int, body: str):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status


class Server:
    """`earshot serve` on free ports; stdout is read until both addresses are printed."""

    def __init__(self, data_dir: Path, *extra: str):
        self.data_dir = data_dir
        # Without the model the tests are fast and every mention is "unclassified"; with
        # EARSHOT_BROWSER_CLASSIFIER=1 the shipped model labels them (for screenshots with sentiment).
        model = ["--model-dir", str(ROOT / "models" / "weights")] if os.environ.get("EARSHOT_BROWSER_CLASSIFIER") == "1" else ["--no-classifier"]
        args = [
            str(earshot_bin()), "serve",
            "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
            "--data-dir", str(data_dir), *model,
            "--commit-interval-ms", "200", "--index-memory-mb", "64", "--index-threads", "1",
            *extra,
        ]
        self.log = open(data_dir / "server.log", "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.http = self._read_address()
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def _read_address(self) -> str:
        deadline = time.monotonic() + 180
        for line in self.proc.stdout:
            m = re.search(r"earshot web on (http://\S+?)/?\s*$", line)
            if m:
                return m.group(1)
            if time.monotonic() > deadline:
                break
        self.stop()
        raise RuntimeError(f"earshot printed no web address; see {self.data_dir / 'server.log'}")

    def wait_ready(self, api: Api) -> None:
        """Ready = WhoAmI answers (401 counts: the server is up, it wants a key)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                api.call("GovernanceService", "WhoAmI")
                return
            except ApiError as e:
                if e.status in (401, 403):
                    return
                if time.monotonic() > deadline:
                    raise
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def driver():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1440,1000", "--lang=en-US", "--no-first-run"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Exports are downloads: they land in a folder of the test run.
    downloads = Path(tempfile.mkdtemp(prefix="earshot-downloads-"))
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(options=options, service=service)
    d.set_page_load_timeout(WAIT_S)
    d.downloads = downloads
    yield d
    d.quit()
    shutil.rmtree(downloads, ignore_errors=True)


@pytest.fixture
def tmp_dir():
    d = Path(tempfile.mkdtemp(prefix="earshot-browser-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def wait(driver, timeout: float = WAIT_S) -> WebDriverWait:
    # Pages redraw lists after each change, so an element found a moment ago may be gone: poll again.
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def css(driver, selector: str, timeout: float = WAIT_S):
    """The first element matching `selector`, once it exists."""
    return wait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, selector)))


def loaded(driver, testid: str, timeout: float = WAIT_S):
    """A panel whose body finished loading (aria-busy false), or failed with an error in words."""
    return wait(driver, timeout).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, f"[data-testid={testid}] .panel-body[aria-busy=false]"))
    )


def text(el) -> str:
    """textContent, which also covers folded tables (Selenium's .text is only what is visible)."""
    return (el.get_attribute("textContent") or "").strip()


def number(s: str) -> float:
    return float(s.replace(",", "").replace("−", "-").replace("%", "").strip())


def open_page(driver, base: str, fragment: str) -> None:
    """Loads the app at `#fragment`; a fresh load, so state from an earlier test does not carry over."""
    driver.get("about:blank")
    driver.get(f"{base}/#{fragment.lstrip('#')}")


def screenshot(driver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # The whole page, not just the window: the overview is taller than a laptop screen.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, max(1000, min(int(height) + 40, 2400)))
    driver.save_screenshot(str(path))
    driver.set_window_size(1440, 1000)
    return path


def js_errors(driver) -> list[str]:
    """Errors the page logged (uncaught exceptions, failed loads); failed API calls the app handles are
    reported by Chromium as network errors too, so those are left out."""
    out = []
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE" and "/api/" not in entry["message"]:
            out.append(entry["message"])
    return out
