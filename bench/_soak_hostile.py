"""The hostile-content corpus rendered in Chromium, for the soak's table (issue 23) and bench/hostile_render.py.

    soak_rows(seed, workdir) -> (rows, ok)    # rows: [(figure, value)], ok: 0 scripts run, 0 requests leaving

Self-contained: it runs in a child process (python bench/_soak_hostile.py), so the caller's Django,
database and servers (the soak's, stopped by then) play no part. The child uses its own database
beside DATABASE_URL (bench/_db.py) and REDIS_URL when they answer, else a private PostgreSQL and
redis-server in `workdir`; it serves the app with gunicorn on a free port and drives Debian's
Chromium (headless, Playwright) over every page where a hostile string reaches a reviewer:

- drafts made from every entry of tests/review/hostile_corpus.py (HOSTILE_BODIES), a few entries a
  draft (the seed shuffles which): each entry is in a subject, the markdown body, an Intercom
  conversation part (HTML), the part's author (the customer's name), the conversation's title and
  tags, a recipient address, the mailbox's display name and, on every other draft, an attachment's
  name and type;
- the queue (every page of it) and its bulk approval confirmation (every row ticked), each draft's
  page with its edit preview (htmx) and the redline after an edit that inserts hostile text; every
  fourth draft is the agent's revision of a version whose changes were requested with the entries
  as feedback (the revision panel: feedback and redline), and that version's page; then, once each
  draft is decided (approved with that edit, or rejected with the entries as the reason), its page
  again, the audit log's decision record, each event's page and the event list;
- the spot-check page, once for each sampled send made of a group (subject, recipients, body).

What is watched, in every page of one browser context:
- scripts run: an init script (before any of the page's own) replaces alert, confirm, prompt,
  print, open, eval-free canaries (window.__canary, console calls naming "hostile") with counters;
- dialogs: Playwright's dialog event (any that still opened);
- requests leaving the page: every request the page makes to another origin (images, fonts,
  prefetch, CSS url(), navigations, frames, beacons), recorded and aborted by a route on the
  context, and websockets; plus same-origin requests the page would not make itself (a hostile
  <img src="/logout">): only /static/, the pages opened and the page's own htmx calls are expected;
- pages not shown: a page that was not a 200, or where the detector was missing, would make its
  zeros meaningless, so it counts against `ok` too;
- CSP violations: `securitypolicyviolation` events, counted and reported as they are (not in `ok`:
  the CSP refusing something is the second line of defence holding, which the sanitizer should
  have made unnecessary).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
for _path in (str(BASE_DIR), str(BENCH_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

PYTHON = (
    str(BASE_DIR / ".venv" / "bin" / "python") if (BASE_DIR / ".venv" / "bin" / "python").exists() else sys.executable
)
ENTRIES_PER_DRAFT = 4
ROWS_PREFIX = "HOSTILE_ROWS "
REVIEWER = "hostile_rita"
PASSWORD = "correct-horse-battery-staple"
EXPECTED_XHR = ("/edit/preview", "/queue/")

# Installed before any script of every page. Counts what a payload that ran would call.
DETECTOR = """
(() => {
  const seen = {scripts: [], csp: []};
  Object.defineProperty(window, "__hostile", {value: seen});
  const hit = (what) => (...args) => { seen.scripts.push(what + ":" + String(args[0]).slice(0, 80)); };
  for (const name of ["alert", "confirm", "prompt", "print", "open"]) window[name] = hit(name);
  window.__canary = hit("canary");
  for (const name of ["log", "info", "warn", "error", "debug"]) {
    const original = console[name].bind(console);
    console[name] = (...args) => {
      if (args.some((a) => String(a).toLowerCase().includes("hostile"))) seen.scripts.push("console." + name);
      return original(...args);
    };
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    seen.csp.push(e.violatedDirective + " " + (e.blockedURI || e.sample || "") + " @" + location.pathname);
  }, true);
})();
"""


# --- the parent side: the soak calls this ------------------------------------------------------


def soak_rows(seed: int, workdir: Path, *, entries: int | None = None) -> tuple[list[tuple[str, str]], bool]:
    """The corpus (its first `entries`, or all) rendered in Chromium by a child process; (rows, ok).
    A child that fails is a row too, and not ok."""
    workdir = Path(workdir) / "hostile"
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [PYTHON, str(Path(__file__).resolve()), "--seed", str(seed), "--workdir", str(workdir)]
    argv += ["--limit", str(entries)] if entries else []
    done = subprocess.run(argv, cwd=BASE_DIR, capture_output=True, text=True, timeout=3600)
    (workdir / "output.txt").write_text(done.stdout + "\n----- stderr -----\n" + done.stderr)
    for line in done.stdout.splitlines():
        if line.startswith(ROWS_PREFIX):
            found = json.loads(line[len(ROWS_PREFIX) :])
            return [tuple(row) for row in found["rows"]], bool(found["ok"])
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return [("hostile corpus in Chromium", f"did not run (exit {done.returncode}: {tail[0][:200]})")], False


# --- the child: servers, data, browser ---------------------------------------------------------


def _postgres_answers(url: str) -> bool:
    import psycopg
    from _db import _maintenance

    try:
        with psycopg.connect(_maintenance(url)[0], connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@contextlib.contextmanager
def servers(workdir: Path):
    """(database_url, redis_url, notes): a database of its own beside DATABASE_URL (else a private
    PostgreSQL), REDIS_URL (else a private redis-server); everything made here is gone afterwards."""
    from _db import bench_database_url, drop_database, recreate_database

    from tests.livesystem import PrivatePostgres, PrivateRedis

    notes, stack = [], contextlib.ExitStack()
    with stack:
        base = os.environ.get("DATABASE_URL", "")
        if base and _postgres_answers(base):
            url = bench_database_url("_hostile")
            recreate_database(url)
            stack.callback(drop_database, url)
            notes.append("database of its own beside DATABASE_URL")
        else:
            postgres = PrivatePostgres(workdir, database="reviewqueue_hostile").start()
            stack.callback(postgres.stop)
            url = postgres.url
            notes.append("private PostgreSQL")
        redis_url = os.environ.get("REDIS_URL", "")
        if not (redis_url and _redis_answers(redis_url)):
            private = PrivateRedis(workdir).start()
            stack.callback(private.stop)
            redis_url = private.url
            notes.append("private Redis")
        yield url, redis_url, notes


def _django(database_url: str, redis_url: str) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-secret-key-not-for-production-0123456789abcdef",
        DJANGO_SETTINGS_MODULE="reviewqueue.settings",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",  # Playwright's sync API keeps an event loop on this thread
        LOG_LEVEL="ERROR",  # not every approval's "conversation re-check failed": no Intercom is running
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _storable(text: str) -> str:
    return text.replace("\x00", "\ufffd")  # PostgreSQL text and jsonb cannot hold NUL


def chunks(entries: list[str], seed: int, per_draft: int = ENTRIES_PER_DRAFT) -> list[list[str]]:
    """The entries in a seeded order, `per_draft` at a time."""
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    return [shuffled[i : i + per_draft] for i in range(0, len(shuffled), per_draft)]


def _conversation(number: int, chunk: list[str]):
    from django.utils import timezone

    from reviewqueue.integrations.intercom.types import Conversation

    now = int(timezone.now().timestamp())

    def author(name):
        return {"type": "user", "id": f"u{number}", "name": name[:250], "email": f"c{number}@customer.example"}

    return Conversation.from_api(
        {
            "type": "conversation",
            "id": f"hostile-{number}",
            "title": " ".join(chunk)[:990],
            "created_at": now - 3600,
            "updated_at": now - 3600,
            "waiting_since": now - 600,
            "open": True,
            "state": "open",
            "tags": {
                "type": "tag.list",
                "tags": [{"type": "tag", "id": f"t{i}", "name": e[:200]} for i, e in enumerate(chunk)],
            },
            "source": {"type": "conversation", "subject": chunk[0], "body": chunk[0], "author": author(chunk[0])},
            "contacts": {"type": "contact.list", "contacts": [{"id": "c1", "email": f"c{number}@customer.example"}]},
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [
                    {
                        "id": f"p{i}",
                        "part_type": "comment",
                        "body": e,
                        "created_at": now - 3000 + i,
                        "author": author(e),
                    }
                    for i, e in enumerate(chunk)
                ],
            },
        }
    )


def make_drafts(groups: list[list[str]]) -> list[dict]:
    """One draft per group of entries; every other one carries them as attachments (those cannot be edited)."""
    from django.utils import timezone

    from reviewqueue.integrations.intercom.models import ConversationSnapshot
    from reviewqueue.review.models import Draft

    made = []
    for number, group in enumerate(groups):
        chunk = [_storable(e) for e in group]
        conversation = _conversation(number, chunk)
        now = timezone.now()
        snapshot = ConversationSnapshot.objects.create(
            conversation_id=conversation.id, fetched_at=now, checked_at=now,
            data=conversation.to_data(), content_hash=f"hostile-{number}",
        )  # fmt: skip
        with_attachments = number % 2 == 1
        draft = Draft.objects.create(
            email_id=f"hostile-email-{number}",
            mailbox_id="mbx_hostile",
            mailbox_display_name=chunk[0][:250],
            source=Draft.Source.WEBHOOK,
            from_address="Support <support@shop.example>",
            to=[f"{e[:200]} <c{number}@customer.example>" for e in chunk],
            subject=f"Hostile {number} " + " ".join(chunk)[:960],
            markdown="\n\n".join(f"Entry{number}x{i}\n\n{e}" for i, e in enumerate(chunk)),
            attachments=[{"name": e[:250], "content_type": e[:100], "size": 1000 + i} for i, e in enumerate(chunk)]
            if with_attachments
            else [],
            flag_attachments=with_attachments,
            received_at=now,
            fetched_at=now,
            content_hash=f"hostile-{number}",
            conversation_id=conversation.id,
            conversation_link=Draft.ConversationLink.TAG,
            snapshot_id=snapshot.pk,
            latest_snapshot_id=snapshot.pk,
        )
        made.append({"draft": draft, "chunk": chunk, "snapshot_id": snapshot.pk, "editable": not with_attachments})
    return made


def make_revisions(made: list[dict], reviewer, every: int = 4) -> list[int]:
    """Every `every`th draft becomes the agent's revision of an earlier version whose changes a reviewer
    requested with the entries as feedback (the draft page's revision panel: feedback and a redline).
    The earlier versions' ids."""
    from django.utils import timezone

    from reviewqueue.review.decisions import draft_decide
    from reviewqueue.review.models import Draft

    previous_ids = []
    for number, item in enumerate(made):
        if number % every:
            continue
        draft, chunk = item["draft"], item["chunk"]
        previous = Draft.objects.create(
            email_id=f"hostile-previous-{number}",
            mailbox_id=draft.mailbox_id,
            source=draft.source,
            from_address=draft.from_address,
            to=draft.to,
            subject=("Before " + " ".join(reversed(chunk)))[:990],
            markdown="Before.\n\n" + "\n\n".join(reversed(chunk)),
            received_at=timezone.now(),
            fetched_at=timezone.now(),
            content_hash=f"hostile-previous-{number}",
        )
        feedback = " ".join(chunk)[:1900]
        draft_decide(draft=previous, reviewer=reviewer, action="request_changes", reason=feedback, origin="web")
        Draft.objects.filter(pk=draft.pk).update(revision_of=previous, revision_number=2)
        item["revised"] = True
        previous_ids.append(previous.pk)
    return previous_ids


def make_spot_checks(groups: list[list[str]]) -> int:
    """One sampled send per group for the spot-check page (what a monitored mailbox sent without a person)."""
    from django.utils import timezone

    from reviewqueue.oversight.models import MonitoredSend

    for number, group in enumerate(groups):
        chunk = [_storable(e) for e in group]
        MonitoredSend.objects.create(
            email_id=f"hostile-sent-{number}", mailbox_id="mbx_hostile", sampled=True, sent_at=timezone.now(),
            to=[f"{e[:200]} <c{number}@customer.example>" for e in chunk],
            subject=f"Sent {number} " + " ".join(chunk)[:960],
            markdown="\n\n".join(chunk),
        )  # fmt: skip
    return len(groups)


def _spot_checks(page, renderer: Renderer) -> None:
    """Each waiting spot check in turn: the page shows the oldest; "would approve" shows the next."""
    renderer.open("/spot-checks/", "spot check")
    while page.locator("article.spot-check").count():
        form = page.locator("form.spot-approve")
        renderer.watch.opened.add(form.get_attribute("action"))
        with page.expect_navigation():
            form.locator("button").click()
        page.wait_for_load_state("load")
        renderer.watch.collect(page)
        if page.locator("article.spot-check").count():
            renderer.counted("spot check")


def _edit_of(item: dict) -> dict:
    """An edit that inserts the group's entries again, in reverse, into the subject and the body."""
    draft, chunk = item["draft"], item["chunk"]
    return {
        "subject": (" ".join(reversed(chunk)) + " " + draft.subject)[:990],
        "markdown": "Edited.\n\n" + "\n\n".join(reversed(chunk)) + "\n\n" + draft.markdown,
    }


def decide_all(made: list[dict], reviewer) -> list[str]:
    """Editable drafts approved with their edit, the others rejected with the entries as the reason."""
    from reviewqueue.review.decisions import draft_decide

    decision_ids = []
    for item in made:
        draft = item["draft"]
        draft.refresh_from_db()
        if item["editable"]:
            decision = draft_decide(
                draft=draft, reviewer=reviewer, action="approve", reason="", origin="web",
                shown_snapshot_id=item["snapshot_id"], edit=_edit_of(item),
            )  # fmt: skip
        else:
            reason = " ".join(item["chunk"])[:1900]
            decision = draft_decide(draft=draft, reviewer=reviewer, action="reject", reason=reason, origin="web")
        decision_ids.append(str(decision.pk))
    return decision_ids


class Watch:
    """Everything the pages did that hostile content must not make them do."""

    def __init__(self, origin: str):
        self.origin = origin
        self.leaving: list[str] = []
        self.unexpected_same_origin: list[str] = []
        self.dialogs: list[str] = []
        self.scripts: list[str] = []
        self.csp: list[str] = []
        self.page_errors: list[str] = []
        self.blind: list[str] = []
        self.opened: set[str] = {"/", "/queue/", "/queue/bulk"}  # where logging in lands; bulk's POST

    def attach(self, context, page) -> None:
        context.add_init_script(DETECTOR)
        context.route("**/*", self._route)
        page.on("dialog", self._dialog)
        page.on("websocket", lambda ws: self.leaving.append("websocket " + ws.url))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)[:200]))
        context.on("page", lambda p: self.leaving.append("a new window: " + p.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message[:80]}")
        dialog.dismiss()

    def _route(self, route) -> None:
        request = route.request
        url = request.url
        if url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        elif not url.startswith(self.origin + "/"):
            self.leaving.append(f"{request.resource_type} {url[:160]}")
            route.abort()
        elif not self._expected(request):
            self.unexpected_same_origin.append(
                f"{request.resource_type} {request.method} {url[len(self.origin) :][:160]}"
            )
            route.abort()
        else:
            route.continue_()

    def _expected(self, request) -> bool:
        path = request.url[len(self.origin) :]
        if path.startswith("/static/"):
            return True
        if request.resource_type == "document":
            return path.split("#")[0] in self.opened or path.startswith("/accounts/")
        if request.resource_type in ("xhr", "fetch"):
            return any(marker in path.split("?")[0] for marker in EXPECTED_XHR) or path.startswith("/queue/")
        return False

    def collect(self, page) -> None:
        """Take what the detector saw on the page now shown (before it is left)."""
        seen = page.evaluate("window.__hostile || null")
        if seen is None:  # the detector was not installed: this page's zeros would mean nothing
            self.blind.append(page.url)
            return
        self.scripts += [f"{s} @{page.url}" for s in seen["scripts"]]
        self.csp += seen["csp"]


class Renderer:
    def __init__(self, page, watch: Watch):
        self.page, self.watch, self.rendered = page, watch, 0
        self.per_kind: dict[str, int] = {}
        self.not_shown: list[str] = []  # a page that failed would make its zeros meaningless

    def open(self, path: str, kind: str, *, then=None) -> None:
        self.watch.opened.add(path)
        response = self.page.goto(path, wait_until="load")
        if response is None or response.status != 200:
            self.not_shown.append(f"{path}: {response.status if response else 'no response'}")
        if then is not None:
            then(self.page)
        self.watch.collect(self.page)
        self.rendered += 1
        self.per_kind[kind] = self.per_kind.get(kind, 0) + 1

    def counted(self, kind: str) -> None:
        self.rendered += 1
        self.per_kind[kind] = self.per_kind.get(kind, 0) + 1


def _wait_preview(page) -> None:
    page.wait_for_selector("#edit-preview-body, #edit-preview .notice", state="attached", timeout=30_000)


def _bulk_confirmation(page, renderer: Renderer) -> None:
    """Tick every row of the queue page shown and ask to approve them: the confirmation lists their subjects."""
    page.check("[data-bulk-select-all]")
    with page.expect_navigation() as navigation:
        page.click("#bulk-form button[value=approve]")
    if navigation.value is None or navigation.value.status != 200:
        renderer.not_shown.append(f"bulk approve confirmation: {navigation.value.status if navigation.value else None}")
    page.wait_for_selector("#bulk-approve-form, #bulk-approve-flagged", state="attached")
    renderer.watch.collect(page)
    renderer.counted("bulk approve confirmation")


def _wait_revision_and_preview(page) -> None:
    page.wait_for_selector("#revision-redline", state="attached")
    _wait_preview(page)


def _redline(page, item: dict, renderer: Renderer) -> None:
    """Type the hostile edit into the edit panel and wait for htmx's redline of it."""
    edit = _edit_of(item)
    page.locator("#edit-panel summary").click()
    with page.expect_response(lambda r: "/edit/preview" in r.url, timeout=30_000):
        page.fill("#edit-subject", edit["subject"])
    with page.expect_response(lambda r: "/edit/preview" in r.url, timeout=30_000):
        page.fill("#edit-markdown", edit["markdown"])
    page.wait_for_selector("#edit-redline ins", state="attached", timeout=30_000)
    renderer.watch.collect(page)
    renderer.counted("edit redline")


def render(seed: int, workdir: Path, *, limit: int | None = None, per_draft: int = ENTRIES_PER_DRAFT) -> dict:
    """The whole run in this process; the figures as a dict."""
    from tests.livesystem import LiveSystem
    from tests.review.hostile_corpus import HOSTILE_BODIES

    entries = HOSTILE_BODIES[:limit] if limit else list(HOSTILE_BODIES)
    groups = chunks(entries, seed, per_draft)
    started = time.monotonic()
    with servers(workdir) as (database_url, redis_url, notes):
        _django(database_url, redis_url)
        from django.contrib.auth import get_user_model

        from reviewqueue.accounts.roles import role_group

        reviewer = get_user_model().objects.create_user(REVIEWER, password=PASSWORD, email="rita@example.com")
        for role in ("reviewer", "auditor"):
            reviewer.groups.add(role_group(role))
        made = make_drafts(groups)
        previous_ids = make_revisions(made, reviewer)
        make_spot_checks(groups)
        system = LiveSystem(database_url=database_url, redis_url=redis_url, workdir=workdir / "live")
        system.workdir.mkdir(parents=True, exist_ok=True)
        try:
            system.start_web(workers=2, threads=4)
            figures = _browse(system, made, previous_ids, reviewer)
        except Exception:
            print(system.logs(), file=sys.stderr)
            raise
        finally:
            system.stop()
    figures.update(entries=len(entries), drafts=len(made), seconds=time.monotonic() - started, notes=notes)
    return figures


def _browse(system, made: list[dict], previous_ids: list[int], reviewer) -> dict:
    from playwright.sync_api import sync_playwright

    from reviewqueue.audit.models import AuditEvent
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, log_in

    watch = Watch(system.web_url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=system.web_url, viewport={"width": 1280, "height": 860})
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.set_default_navigation_timeout(60_000)
            watch.attach(context, page)
            log_in(page, REVIEWER, PASSWORD)
            renderer = Renderer(page, watch)

            pages = max(1, -(-len(made) // 50))
            for number in range(1, pages + 1):
                renderer.open(f"/queue/?page={number}" if number > 1 else "/queue/", "queue")
                _bulk_confirmation(page, renderer)
            for item in made:
                path = f"/queue/drafts/{item['draft'].pk}/"
                if item["editable"]:
                    renderer.open(
                        path, "draft page", then=_wait_revision_and_preview if item.get("revised") else _wait_preview
                    )
                    _redline(page, item, renderer)
                else:
                    renderer.open(path, "draft page")
            for previous_id in previous_ids:
                renderer.open(f"/queue/drafts/{previous_id}/", "draft page, changes requested")
            _spot_checks(page, renderer)
            decision_ids = decide_all(made, reviewer)
            for item in made:
                renderer.open(f"/queue/drafts/{item['draft'].pk}/", "draft page, decided")
            for decision_id in decision_ids:
                renderer.open(f"/audit/decisions/{decision_id}/", "audit decision record")
            for seq in AuditEvent.objects.order_by("seq").values_list("seq", flat=True):
                renderer.open(f"/audit/events/{seq}/", "audit event")
            renderer.open("/audit/", "audit event list")
            page.wait_for_timeout(1000)  # anything late (lazy loads, refreshes) still reaches the route
            context.close()
        finally:
            browser.close()
    return {
        "pages": renderer.rendered,
        "per_kind": renderer.per_kind,
        "scripts": watch.scripts,
        "dialogs": watch.dialogs,
        "leaving": watch.leaving,
        "unexpected_same_origin": watch.unexpected_same_origin,
        "csp": watch.csp,
        "page_errors": watch.page_errors,
        "not_shown": renderer.not_shown + [f"{url}: no detector" for url in watch.blind],
    }


def rows_of(figures: dict) -> tuple[list[tuple[str, str]], bool]:
    kinds = ", ".join(f"{n} {kind}" for kind, n in figures["per_kind"].items())
    ok = not figures["scripts"] and not figures["dialogs"] and not figures["leaving"]
    ok = ok and not figures["unexpected_same_origin"] and not figures["not_shown"]
    rows = [
        ("hostile corpus entries rendered in Chromium", f"{figures['entries']} (in {figures['drafts']} drafts)"),
        ("pages rendered", f"{figures['pages']} ({kinds})"),
        ("pages not shown (not a 200, or no detector)", str(len(figures["not_shown"]))),
        ("scripts run", str(len(figures["scripts"]))),
        ("dialogs opened", str(len(figures["dialogs"]))),
        ("requests leaving the page", str(len(figures["leaving"]))),
        ("same-origin requests the page would not make", str(len(figures["unexpected_same_origin"]))),
        ("CSP violations reported", str(len(figures["csp"]))),
    ]
    return rows, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The hostile corpus in Chromium (child of soak_rows).")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--limit", type=int, help="only the first N corpus entries")
    args = parser.parse_args(argv)
    figures = render(args.seed, args.workdir, limit=args.limit)
    rows, ok = rows_of(figures)
    examples = {
        k: figures[k][:5] for k in ("scripts", "dialogs", "leaving", "unexpected_same_origin", "csp", "not_shown")
    }
    print(ROWS_PREFIX + json.dumps({"rows": rows, "ok": ok, "examples": examples}), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
