"""A scripted reviewer in headless Chromium clears the demo's drafts from the keyboard alone.

    .venv/bin/python bench/review_flow.py              # 50 drafts
    .venv/bin/python bench/review_flow.py --quick      # 9 drafts (or --drafts N)

Seeds its own database (DATABASE_URL's name + "_review_flow", dropped and made afresh) with the
`make run` demo (reviewqueue/sandbox/demo.py), its held drafts repeated until there are --drafts of
them, then serves the whole system on loopback as the browser tests do (both sandboxes on the demo's
state, gunicorn, a Celery worker). A reviewer logs in, opens the queue, and from the keyboard alone,
with no think time: `j` Enter opens the first draft; it is read; then in turn approved (`a`),
rejected with a preset reason (`r`, ↓, Tab, Tab, Enter), or edited and approved (`e`, a sentence
typed at the end of the body, the redline awaited, Tab to "Approve with edits", Enter). Each decision
lands on the next draft, the last on the queue.

Server time comes from the app's `Server-Timing: app;dur=…` header (reviewqueue/server_timing.py) on
every document and htmx request; a step's server time is the sum over its requests. Targets: every
step <= 100 ms of server time at p99; all drafts cleared in under 5 minutes (scaled to --drafts).
Needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _db import bench_database_url, drop_database, recreate_database  # noqa: E402
from _decide_bench import percentile  # noqa: E402
from _report import report  # noqa: E402

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
TARGET_STEP_P99_MS = 100.0
TARGET_SECONDS_FOR_50 = 300.0
EDIT_SENTENCE = "\n\nP.S. We double-checked this for you this morning."
APP_DUR = re.compile(r"app;dur=([0-9.]+)")
DRAFT_PATH = re.compile(r"^/queue/drafts/(\d+)/$")


def setup(url: str, system) -> None:
    from tests.livesystem import sandbox_keys

    os.environ.update(sandbox_keys())
    os.environ.update(
        DATABASE_URL=url,
        MULTIMAIL_API_URL=system.multimail_url,
        INTERCOM_API_URL=system.intercom_url,
        REVIEWQUEUE_SANDBOX="1",
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        DJANGO_SETTINGS_MODULE="reviewqueue.settings",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",  # Playwright's sync API keeps an event loop on this thread
    )
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(system, drafts: int) -> int:
    """The demo with its held drafts repeated up to `drafts`; a reviewer of our own. Pending drafts seeded."""
    from django.contrib.auth import get_user_model

    from reviewqueue.review.models import Draft
    from reviewqueue.sandbox import demo, demo_data
    from tests.conftest import make_user

    held = demo_data.PENDING
    demo_data.PENDING = tuple(
        dataclasses.replace(held[n % len(held)], key=f"{held[n % len(held)].key}_{n}") for n in range(drafts)
    )
    demo.demo_seed(
        multimail_state=system.workdir / "multimail.json",
        intercom_state=system.workdir / "intercom.json",
        multimail_port=system.multimail_port,
        intercom_port=system.intercom_port,
    )
    make_user(get_user_model(), "bench-reviewer", "reviewer")
    return Draft.objects.filter(status=Draft.Status.PENDING).count()


class ServerTimes:
    """Each document/htmx response's app;dur, filed under the step the reviewer was taking."""

    def __init__(self):
        self.step = "log in"
        self.per_request: dict[str, list[float]] = defaultdict(list)
        self.current: float = 0.0
        self.per_step: dict[str, list[float]] = defaultdict(list)
        self.missing: list[str] = []
        self.bare_ms = float("nan")

    def on_response(self, response) -> None:
        request = response.request
        if request.resource_type not in ("document", "xhr", "fetch"):
            return
        path = urlsplit(response.url).path
        match = APP_DUR.search(response.headers.get("server-timing", ""))
        if not match:
            self.missing.append(f"{request.method} {path}")
            return
        kind = "GET draft page" if DRAFT_PATH.match(path) else f"{request.method} {DRAFT_PATH.sub('…', path)}"
        kind = re.sub(r"/queue/drafts/\d+/", "/queue/drafts/{id}/", kind)
        duration = float(match.group(1))
        self.per_request[f"{self.step}: {kind}"].append(duration)
        self.current += duration

    def begin(self, step: str) -> None:
        self.step, self.current = step, 0.0

    def end(self) -> None:
        self.per_step[self.step].append(self.current)


def decide(page, times: ServerTimes, plan: str) -> str:
    """Take one draft from the keyboard; the action actually taken (a stale draft can only be rejected)."""
    before = page.url
    can_approve = page.locator('button[data-key="a"]').count() > 0
    can_edit = page.locator("#edit-panel").count() > 0
    action = (
        plan if (plan == "reject" or (plan == "approve" and can_approve) or (plan == "edit" and can_edit)) else "reject"
    )
    if action == "edit":
        times.begin("edit: open the editor and see the redline")
        page.keyboard.press("e")
        # The panel's toggle event puts the cursor in the body a moment later: typed before that, the sentence
        # went to the page, whose keys (e, c, r, f) it then pressed.
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'edit-markdown'")
        page.keyboard.press("Control+End")
        page.keyboard.type(EDIT_SENTENCE)
        try:  # the reviewer reads the redline before confirming: wait for it to show the sentence
            page.locator("#edit-redline", has_text="double-checked").wait_for()
        except Exception:
            preview = page.locator("#edit-preview").inner_text() if page.locator("#edit-preview").count() else ""
            print(
                f"no redline on {before}; focus {page.evaluate('document.activeElement.id')!r}; "
                f"preview: {preview[:400]!r}",
                file=sys.stderr,
            )
            raise
        times.end()
        times.begin("edit: approve with edits, next draft")
        for _ in range(40):
            if page.evaluate("document.activeElement && document.activeElement.id") == "approve-edited":
                break
            page.keyboard.press("Tab")
        else:
            raise RuntimeError(f"Tab never reached 'Approve with edits' on {before}")
        page.keyboard.press("Enter")
    elif action == "approve":
        times.begin("approve, next draft")
        page.keyboard.press("a")
    else:
        times.begin("reject with a preset reason, next draft")
        page.keyboard.press("r")
        page.keyboard.press("ArrowDown")  # the first preset reason
        if not page.evaluate("document.getElementById('reason-preset').value"):
            raise RuntimeError(f"no preset reason chosen on {before}")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url != before, timeout=60_000)
    page.wait_for_load_state("load")
    settled(page)
    times.end()
    return action


def settled(page) -> None:
    """Wait until htmx has settled the page it swapped in: it wires the new content's triggers (the edit
    preview's `input`) only then, 20 ms after the swap, and typing before that would preview nothing. The
    URL changes at the swap, so waiting for the URL alone raced it."""
    page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-swapping')")


def warm_up(page, times: ServerTimes) -> None:
    """A few page loads first, so both gunicorn workers have their first-request costs behind them (as a
    server that has been up a while has); not counted, and nothing decided."""
    times.begin("warm-up")
    page.goto("/queue/", wait_until="load")
    paths = [
        urlsplit(href).path for href in page.eval_on_selector_all("[data-queue-row] a", "as => as.map(a => a.href)")
    ]
    for path in (paths[:3] * 2) + ["/queue/"] * 4:
        page.goto(path, wait_until="networkidle")


def bare_view_ms(page) -> float:
    """The median app;dur of /healthz in the same run: what "no work" costs on this machine right now."""
    durations = []
    for _ in range(20):
        header = page.request.get("/healthz").headers.get("server-timing", "")
        match = APP_DUR.search(header)
        if match:
            durations.append(float(match.group(1)))
    return percentile(durations, 0.5) if durations else float("nan")


def clear_queue(browser, base_url: str, drafts: int, times: ServerTimes) -> tuple[float, dict[str, int]]:
    from tests.conftest import PASSWORD

    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("response", times.on_response)
    page.goto("/accounts/login/")
    page.fill("#id_username", "bench-reviewer")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")

    warm_up(page, times)
    taken: dict[str, int] = defaultdict(int)
    started = time.monotonic()
    times.begin("open the queue")
    page.goto("/queue/", wait_until="load")
    times.end()
    times.begin("open the first draft (j, Enter)")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/queue/drafts/*/")
    settled(page)
    times.end()
    plans = ("approve", "reject", "edit")
    for n in range(drafts * 2):  # bounded: an edited version that wrongly reached the queue would show here
        if not DRAFT_PATH.match(urlsplit(page.url).path):
            break
        page.inner_text("#draft-body" if page.locator("#draft-body").count() else "body")  # read it
        taken[decide(page, times, plans[n % 3])] += 1
    wall = time.monotonic() - started
    left = page.locator("[data-queue-row]").count()
    times.bare_ms = bare_view_ms(page)
    context.close()
    if left:
        print(f"the queue still shows {left} drafts at the end", file=sys.stderr)
    return wall, dict(taken)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=50, help="drafts to clear (default 50)")
    parser.add_argument("--quick", action="store_true", help="9 drafts (bench/run --quick)")
    args = parser.parse_args()
    if args.quick:
        args.drafts = 9
    if not 3 <= args.drafts <= 500:
        parser.error("--drafts must be between 3 and 500")
    if not CHROMIUM.exists():
        sys.exit(
            f"bench/review_flow.py: Chromium is missing at {CHROMIUM} (apt-get install chromium, or CHROMIUM_PATH)"
        )
    url = bench_database_url("_review_flow")
    recreate_database(url)
    from tests.livesystem import LiveSystem

    system = LiveSystem(database_url=url, redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        setup(url, system)
        pending = seed(system, args.drafts)
        print(f"seeded the demo: {pending} pending drafts", flush=True)
        state = system.workdir
        system.start_multimail("--state", str(state / "multimail.json"), wait=False)
        system.start_intercom("--state", str(state / "intercom.json"), wait=False)
        system.start_web(wait=False)
        system.start_worker(concurrency=2, wait=False)
        system.wait_ready()
        from playwright.sync_api import sync_playwright

        times = ServerTimes()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"])
            wall, taken = clear_queue(browser, system.web_url, pending, times)
            browser.close()
        return print_figures(wall, taken, pending, times)
    except Exception:
        print(system.logs(), file=sys.stderr)
        raise
    finally:
        system.cleanup()
        from django.db import connections

        connections.close_all()
        drop_database(url)


def print_figures(wall: float, taken: dict[str, int], pending: int, times: ServerTimes) -> int:
    from reviewqueue.review.models import Draft

    decided = sum(taken.values())
    left = Draft.objects.filter(status=Draft.Status.PENDING).count()
    load = os.getloadavg()[0]
    machine = f"load {load:.1f} on {os.cpu_count()} CPUs; bare view /healthz p50 {times.bare_ms:.1f} ms"
    print(f"cleared {decided} of {pending} drafts ({taken}) in {wall:.1f} s; {left} still pending; {machine}")
    if times.missing:
        print(f"responses without Server-Timing: {times.missing[:5]}", file=sys.stderr)
    print("server time per request (ms):")
    for kind, values in sorted(times.per_request.items()):
        print(
            f"  {kind:<70} n={len(values):3d}  p50 {percentile(values, 0.5):6.1f}  p99 {percentile(values, 0.99):6.1f}"
        )
    target_wall = TARGET_SECONDS_FOR_50 * pending / 50
    report(
        f"keyboard reviewer clears {pending} demo drafts in Chromium (wall time, no think time)",
        round(wall, 1),
        unit="s",
        target=f"< {target_wall:.0f} s",
        baseline=f"{wall / max(decided, 1):.2f} s per draft; {taken}; {machine}",
        ratio=wall / target_wall,
        ok=wall < target_wall and decided == pending and left == 0,
    )
    worst_ok = True
    for step, values in times.per_step.items():
        if step in ("log in", "warm-up"):
            continue
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        worst_ok &= p99 <= TARGET_STEP_P99_MS
        report(
            f"review flow step server time p99: {step}",
            round(p99, 1),
            unit="ms",
            target=f"<= {TARGET_STEP_P99_MS:.0f} ms",
            baseline=f"p50 {p50:.1f} ms, n={len(values)}; {machine}",
            ratio=p99 / TARGET_STEP_P99_MS,
            ok=p99 <= TARGET_STEP_P99_MS,
        )
    # A missed target is the RESULT lines' "ok": false; the exit code says whether the run itself worked.
    print(f"every step within {TARGET_STEP_P99_MS:.0f} ms at p99: {'yes' if worst_ok else 'no'}")
    return 0 if decided == pending and left == 0 and not times.missing else 1


if __name__ == "__main__":
    sys.exit(main())
