"""bench/hostile_render.py and the soak's rows (bench/_soak_hostile.py) over a handful of corpus entries,
and the watch they count with, shown to see a script that runs and a request that leaves."""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR / "bench"))

import _soak_hostile  # noqa: E402
from _report import parse  # noqa: E402

ORIGIN = "http://hostile.test"
# What a sanitizer that let everything through would serve: each line trips one counter.
VULNERABLE_PAGE = """<!doctype html><title>vulnerable</title>
<img src=x onerror="alert('from onerror')">
<img src="https://attacker.example/pixel.gif">
<script>__canary(); console.log("hostile script ran")</script>
<style>p { color: red }</style><p>styled</p>
"""


def test_the_bench_over_a_handful_of_entries_runs_no_script_and_sends_nothing_away():
    argv = [sys.executable, "bench/hostile_render.py", "--entries", "6", "--per-draft", "2"]
    done = subprocess.run(argv, cwd=BASE_DIR, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = {r["figure"]: r for r in map(parse, done.stdout.splitlines()) if r}
    assert results["hostile corpus entries rendered in Chromium"]["value"] == 6
    # 3 drafts: the queue, 3 draft pages, 2 redlines, 3 decision records, 3 or more events, the event list
    assert results["hostile corpus: pages rendered"]["value"] >= 13
    for figure in (
        "scripts run",
        "dialogs opened",
        "requests leaving the page",
        "pages not shown (not a 200, or no detector)",
    ):
        assert results[f"hostile corpus: {figure}"]["value"] == 0
        assert results[f"hostile corpus: {figure}"]["ok"] is True


def test_soak_rows_gives_the_table_rows_from_a_child_process(tmp_path):
    rows, ok = _soak_hostile.soak_rows(7, tmp_path, entries=4)
    table = dict(rows)
    assert ok, json.dumps(rows)
    assert table["hostile corpus entries rendered in Chromium"] == "4 (in 1 drafts)"
    assert table["scripts run"] == "0"
    assert table["requests leaving the page"] == "0"
    assert "CSP violations reported" in table


def test_the_watch_counts_a_script_that_runs_a_request_that_leaves_and_a_csp_refusal(browser):
    context = browser.new_context()
    page = context.new_page()
    watch = _soak_hostile.Watch(ORIGIN)
    watch.attach(context, page)
    watch.opened.add("/page")
    page.route(  # a page route answers before the watch's context route
        f"{ORIGIN}/page",
        lambda route: route.fulfill(
            status=200,
            body=VULNERABLE_PAGE,
            content_type="text/html",
            headers={"Content-Security-Policy": "style-src 'none'"},
        ),
    )
    try:
        page.goto(f"{ORIGIN}/page", wait_until="load")
        page.wait_for_function("window.__hostile.scripts.length >= 3")
        watch.collect(page)
    finally:
        context.close()

    assert sorted(s.split(" @")[0] for s in watch.scripts) == ["alert:from onerror", "canary:undefined", "console.log"]
    assert watch.dialogs == []  # alert itself never opens one: the detector took its place
    assert watch.leaving == ["image https://attacker.example/pixel.gif"]
    assert watch.unexpected_same_origin == ["image GET /x"]
    assert [c.split(" ")[0] for c in watch.csp] == ["style-src-elem"]
