"""`robolang annotate` in a real headless browser (Playwright driving Debian's Chromium): the
page plays the episode's video, a segment marked with the keys or by dragging on the timeline
and labelled (typed, or a suggestion picked) is still there after a reload; two tabs labelling
at once keep both labels; refused input and a stale edit show a message in the page.

Skipped, saying why, where Playwright's Python package or a Chromium binary is missing
(``bash install.sh`` installs both; Playwright's own browser download is not used)."""

from __future__ import annotations

import os
import shutil

import pytest
from helpers import annotating

from robolang.annotate.server import create_app
from robolang.annotate.suggestions import suggester_for
from robolang.captioning import annotations

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright's Python package is not installed (pip install -e '.[dev]')"
)
CHROMIUM = os.environ.get("ROBOLANG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "no Chromium binary (Debian: apt-get install chromium; or set ROBOLANG_CHROMIUM)", allow_module_level=True
    )

WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: Chromium refuses to start its sandbox as root (CI containers run as root).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    return annotating.record(tmp_path_factory.mktemp("annotate_browser"))


@pytest.fixture
def site(recorded, tmp_path):
    """A fresh copy of the dataset served on a free loopback port: (address, dataset root)."""
    play = annotating.copy(recorded, tmp_path / "data")
    with annotating.serving(create_app(play, "ada", suggest=suggester_for(play))) as address:
        yield address, play


def open_page(browser, address):
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(address)
    page.wait_for_selector("#episode-list button.active")
    page.wait_for_function("document.querySelector('#cameras video').readyState >= 1")  # Chromium plays the AV1 file
    return page


def human_rows(page) -> list[str]:
    return page.locator("#labels tbody tr.human td.instruction").all_inner_texts()


def test_a_segment_marked_with_keys_and_a_dragged_one_are_stored_and_shown_after_a_reload(browser, site):
    address, play = site
    page = open_page(browser, address)
    page.locator("#episode-list button", has_text="Episode 1").click()  # the second episode, 7 s into the file
    page.wait_for_function("document.querySelector('#clock').textContent.includes('episode 1')")
    for key in ["ArrowRight"] * 5 + ["BracketLeft"] + ["Shift+ArrowRight"] * 4:
        page.keyboard.press(key)
    page.keyboard.press("BracketRight")  # frames [5, 46): the lift
    assert page.input_value("#start") == "5" and page.input_value("#end") == "46"
    assert abs(page.evaluate("document.querySelector('#cameras video').currentTime") - (7.0 + 45.5 / 10)) < 0.06
    suggestion = page.locator("#suggestion-list button.suggestion").first
    suggestion.wait_for()
    picked = suggestion.evaluate("b => b.firstChild.textContent")
    suggestion.click()
    page.keyboard.press("Enter")  # focus is in the instruction: Enter saves
    page.wait_for_selector("#status.ok")
    box = page.locator("#timeline").bounding_box()  # drag over the first tenth of the episode: frames [0, 8)
    page.mouse.move(box["x"] + 1, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.05, box["y"] + 10, steps=4)
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + 10, steps=4)
    page.mouse.up()
    assert page.input_value("#start") == "0" and int(page.input_value("#end")) in (7, 8)
    page.fill("#instruction", "wave at the camera")
    page.click("#save")
    page.wait_for_function("document.querySelectorAll('#labels tbody tr.human').length === 2")
    page.reload()
    page.wait_for_selector("#episode-list button.active")
    page.locator("#episode-list button", has_text="Episode 1").click()
    page.wait_for_function("document.querySelectorAll('#labels tbody tr.human').length === 2")
    assert sorted(human_rows(page)) == sorted([picked, "wave at the camera"])
    assert page.locator("#labels tbody tr.human td.by").all_inner_texts() == ["ada", "ada"]
    table = annotations.load(play)
    assert set(table["episode_index"]) == {1} and set(table["annotator"]) == {"ada"}
    assert "lift" in set(table["task_id"])  # the picked suggestion keeps its task
    page.close()


def test_two_tabs_labelling_at_once_keep_both_labels(browser, site):
    address, play = site
    tabs = [open_page(browser, address), open_page(browser, address)]
    for tab, (start, end, text) in zip(
        tabs, [(2, 30, "push the cube around"), (10, 60, "lift the red block")], strict=True
    ):
        tab.fill("#start", str(start))
        tab.fill("#end", str(end))
        tab.dispatch_event("#end", "change")
        tab.fill("#instruction", text)
    for tab in tabs:  # both submitted before either write is done
        tab.evaluate("document.querySelector('#label-form').requestSubmit()")
    for tab in tabs:  # each tab sees the other's label: after its own write, or at the next refresh
        tab.wait_for_function("document.querySelectorAll('#labels tbody tr.human').length === 2")
        assert sorted(human_rows(tab)) == ["lift the red block", "push the cube around"]
        tab.close()
    assert sorted(annotations.load(play)["instruction"]) == ["lift the red block", "push the cube around"]


def test_refused_input_and_a_stale_edit_show_a_message_and_write_nothing(browser, site):
    address, play = site
    tab_a, tab_b = open_page(browser, address), open_page(browser, address)
    tab_a.fill("#start", "20")
    tab_a.fill("#end", "10")
    tab_a.fill("#instruction", "lift the red block")
    tab_a.click("#save")
    tab_a.wait_for_selector("#status.error")
    assert "must come before its end" in tab_a.inner_text("#status")
    tab_a.fill("#start", "5")
    tab_a.fill("#end", "40")
    tab_a.fill("#instruction", "   ")
    tab_a.click("#save")
    tab_a.wait_for_function("document.querySelector('#status').textContent.includes('empty')")
    assert annotations.load(play).empty
    tab_a.fill("#instruction", "lift the red block")
    tab_a.click("#save")
    tab_a.wait_for_selector("#status.ok")
    tab_a.wait_for_selector("#labels tbody tr.human button.edit")
    tab_b.wait_for_selector("#labels tbody tr.human button.delete")  # after its periodic refresh
    tab_a.click("#labels tbody tr.human button.edit")  # tab A starts editing ...
    tab_b.click("#labels tbody tr.human button.delete")  # ... while tab B deletes the label
    tab_b.wait_for_selector("#status.ok")
    tab_a.fill("#instruction", "raise the red block")
    tab_a.click("#save")
    tab_a.wait_for_function("document.querySelector('#status').textContent.includes('nothing was written')")
    assert "changed or deleted in another tab" in tab_a.inner_text("#status")
    assert tab_a.input_value("#instruction") == "raise the red block"  # kept, to save as a new label
    assert annotations.load(play).empty
    tab_a.close()
    tab_b.close()
