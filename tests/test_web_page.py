"""The page of `matcalc serve` in a real browser (headless Chromium through selenium): derive,
errors at their place, the permalink, the examples, "check my answer". Skipped where Chromium,
its driver or selenium is not installed (CI installs them)."""
import os
import shutil
import threading
from urllib.parse import quote

import pytest

from matcalc.web.server import make_server

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Chromium and chromedriver are not installed")


@pytest.fixture(scope="module")
def server():
    srv = make_server("127.0.0.1", 0, workers=2)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.pool.close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


def _wait(browser, condition, timeout=60):
    return WebDriverWait(browser, timeout).until(condition)


def _result_text(browser):
    _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#results .result .katex"))
    return browser.find_element(By.CSS_SELECTOR, '#results [data-field="text"]').text


def test_a_permalink_derives_and_renders_the_math_with_katex(server, browser, tmp_path):
    browser.get(server.url + "?f=" + quote("x.T @ A @ x") + "&wrt=x")
    assert _result_text(browser) == "(A + Aᵀ) x"
    math = browser.find_element(By.CSS_SELECTOR, '#results [data-field="math"] .katex-html')
    assert "A" in math.text and math.size["width"] > 50   # typeset, not raw LaTeX
    assert "ok" in browser.find_element(By.CSS_SELECTOR, '#results [data-field="check"]').text
    code = browser.find_element(By.CSS_SELECTOR, '#results [data-field="code"]')
    assert "import numpy as np" in code.text
    browser.find_element(By.CSS_SELECTOR, '#results [data-backend="torch"]').click()
    assert "import torch" in code.text
    assert browser.save_screenshot(str(tmp_path / "page.png"))
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_enter_derives_and_the_state_goes_into_the_url(server, browser):
    browser.get(server.url)
    _wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    browser.find_element(By.ID, "f").send_keys("sum(log(1 + exp(-y * (X @ w))))")
    browser.find_element(By.ID, "wrt").send_keys("w")
    browser.find_element(By.ID, "shapes").send_keys("X=N,n; y=N; w=n" + Keys.ENTER)
    assert "Xᵀ" in _result_text(browser)
    assert "f=sum" in browser.current_url and "wrt=w" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "#variables tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == ["X", "w", "y"]


def test_an_error_is_shown_at_its_place(server, browser):
    browser.get(server.url)
    _wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    browser.find_element(By.ID, "f").send_keys("x.T @@ A")
    browser.find_element(By.ID, "wrt").send_keys("x" + Keys.ENTER)
    box = _wait(browser, lambda b: b.find_element(By.ID, "f-error") if b.find_element(By.ID, "f-error").is_displayed()
                else None)
    assert "ParseError" in box.text and box.find_element(By.CSS_SELECTOR, "pre.caret").text.endswith("     ^")


def test_a_staged_program_is_typed_line_by_line(server, browser):
    browser.get(server.url)
    _wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    box = browser.find_element(By.ID, "f")
    box.send_keys("h = tanh(W @ x)")
    box.send_keys(Keys.SHIFT, Keys.ENTER)   # a new line, not a derivation
    box.send_keys("L = 0.5 * norm2(h - y) ** 2")
    browser.find_element(By.ID, "wrt").send_keys("W")
    box.send_keys(Keys.ENTER)
    _wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#results .result .katex")
          or b.find_element(By.ID, "f-error").text)
    assert browser.find_element(By.ID, "f-error").text == ""
    assert _result_text(browser) == "((1 − h∘²) ⊙ (h − y)) xᵀ"
    assert box.get_attribute("rows") == "2"


def test_changing_a_shape_in_the_table_derives_again(server, browser):
    browser.get(server.url + "?f=" + quote("trace(X @ A)") + "&wrt=X&shapes=" + quote("A=n,n"))
    assert _result_text(browser) == "Aᵀ"
    cell = browser.find_element(By.CSS_SELECTOR, '#variables input[data-name="X"]')
    cell.clear()
    cell.send_keys("n,n:symmetric" + Keys.ENTER)
    _wait(browser, lambda b: "½ (A + Aᵀ)" in b.execute_script(
        "const e = document.querySelector('#results [data-field=\"text\"]'); return e ? e.textContent : ''"))
    assert "X%3Dn%2Cn%3Asymmetric" in browser.current_url or "X=n,n:symmetric" in browser.current_url


def test_an_example_derives_and_a_wrong_answer_is_explained(server, browser):
    browser.get(server.url)
    _wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    Select(browser.find_element(By.ID, "examples")).select_by_visible_text("quadratic form xᵀAx")
    assert _result_text(browser) == "(A + Aᵀ) x"
    browser.find_element(By.ID, "claimed").send_keys("2 * A @ x" + Keys.ENTER)
    _wait(browser, lambda b: b.find_element(By.ID, "verdict").is_displayed())
    assert browser.find_element(By.ID, "verdict-head").text.startswith("Wrong")
    assert "symmetric" in browser.find_element(By.ID, "verdict-message").text
    assert browser.find_elements(By.CSS_SELECTOR, "#verdict-claim .katex")
    assert browser.find_elements(By.CSS_SELECTOR, "#verdict-answer .katex")
    assert "counter-example" in browser.find_element(By.ID, "verdict-counterexample").text


def test_the_readme_screenshot(server, browser, tmp_path):
    """The page as the README shows it: a network's gradient and a hand derivation that dropped
    tanh′ (``MATCALC_SCREENSHOT=docs/page.png`` writes it there)."""
    query = {"f": "0.5 * norm2(W2 @ tanh(W1 @ x + b1) - y) ** 2", "wrt": "W1",
             "shapes": "W1=h,n; W2=K,h; b1=h; x=n; y=K", "claimed": "(W2.T @ (W2 @ tanh(W1 @ x + b1) - y)) @ x.T"}
    browser.get(server.url + "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items()))
    _result_text(browser)
    _wait(browser, lambda b: b.find_element(By.ID, "verdict").is_displayed())
    assert "derivative of tanh was dropped" in browser.find_element(By.ID, "verdict-message").text
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1000, height + 20)
    path = os.environ.get("MATCALC_SCREENSHOT") or str(tmp_path / "page.png")
    assert browser.save_screenshot(path)
    browser.set_window_size(1200, 1400)
