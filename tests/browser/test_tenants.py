"""With `--auth keys` the dashboard asks for a key, keeps it for the tab, and a key of another tenant
sees none of the first tenant's mentions, topics or insights."""

import json
import subprocess
import time

import pytest
from selenium.webdriver.common.by import By

import corpus
from conftest import Api, Server, css, earshot_bin, loaded, number, open_page, screenshot, text, wait


def make_key(data_dir, tenant: str) -> str:
    out = subprocess.run(
        [str(earshot_bin()), "keys", "create", "--json", "--tenant", tenant, "--role", "analyst", "--data-dir", str(data_dir)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)["key"]


@pytest.fixture(scope="module")
def two_tenants(tmp_path_factory):
    data = tmp_path_factory.mktemp("keys")
    acme, rival = make_key(data, "acme"), make_key(data, "rival")
    server = Server(data, "--auth", "keys")
    api = Api(server.http, key=acme)
    server.wait_ready(api)
    corpus.ingest(api, corpus.mentions(time.time(), count=60, prefix="t"))
    api.call("TopicService", "CreateTopic", {"name": "Acme", "query": "acme"})
    yield server.http, acme, rival
    server.stop()


def sign_in(driver, base: str, key: str, page: str = "/overview") -> None:
    open_page(driver, base, page)
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    css(driver, "[data-testid=signin]")
    driver.find_element(By.ID, "api-key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "[data-testid=signin] button[type=submit]").click()
    css(driver, "[data-testid=tenant]")


def test_another_tenants_key_sees_none_of_it(driver, two_tenants):
    base, acme, rival = two_tenants
    sign_in(driver, base, rival)
    assert text(driver.find_element(By.CSS_SELECTOR, "[data-testid=tenant]")) == "rival"
    loaded(driver, "headline")
    loaded(driver, "sov")
    assert number(text(driver.find_element(By.CSS_SELECTOR, "[data-testid=total]"))) == 0
    assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid=sov-table]"), "rival has no topics to compare"
    screenshot(driver, "tenant-rival")
    open_page(driver, base, "/search?q=acme")
    count = css(driver, "[data-testid=result-count]")
    wait(driver).until(lambda d: text(count))
    assert number(text(count).split()[0]) == 0
    open_page(driver, base, "/topics")
    assert "No topic yet" in text(css(driver, "[data-testid=topics-list][aria-busy=false]"))
    # The same pages with the owner's key show the mentions.
    sign_in(driver, base, acme)
    assert text(driver.find_element(By.CSS_SELECTOR, "[data-testid=tenant]")) == "acme"
    loaded(driver, "headline")
    assert number(text(driver.find_element(By.CSS_SELECTOR, "[data-testid=total]"))) > 0
    # Signing out forgets the key.
    driver.find_element(By.CSS_SELECTOR, "[data-testid=who] button").click()
    css(driver, "[data-testid=signin]")
    assert driver.execute_script("return sessionStorage.getItem('earshot.apiKey')") is None
