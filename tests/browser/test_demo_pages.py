"""The demo `make run` seeds, in Chromium against the live system: every page a reviewer, an auditor and an
admin open (and the login page) checked by axe-core, with no serious or critical violation, and walked
with the Tab key, which must move forward through visible controls that show where focus is; then the
README's screenshots, taken from the demo at a laptop's 1440x900.

axe-core is vendored (tests/browser/vendor/axe-core/) and injected through the DevTools protocol, so
the pages keep their strict Content-Security-Policy and nothing is fetched from the network.
"""

from pathlib import Path

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.review.models import Decision, Draft
from reviewqueue.routing.models import Mailbox
from reviewqueue.sandbox import demo_data
from reviewqueue.sandbox.demo import demo_seed
from tests.browser.conftest import log_in, screenshot
from tests.livesystem import sandbox_keys

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
LAPTOP = {"width": 1440, "height": 900}
BLOCKING_IMPACTS = ("serious", "critical")
TAB_STEPS = 30


@pytest.fixture
def demo(live_system, transactional_db, settings):
    """The demo seeded into the test database and into the sandboxes, which are restarted on its state."""
    settings.MULTIMAIL_API_URL = live_system.multimail_url
    settings.INTERCOM_API_URL = live_system.intercom_url
    settings.INTERCOM_ADMIN_ID = ""
    for name, value in sandbox_keys().items():
        setattr(settings, name, value)
    state = {name: live_system.workdir / f"demo-{name}.json" for name in ("multimail", "intercom")}
    # As under `make run`, nothing else runs while the past is played: a worker carrying a decision
    # out now would put today's event in the audit log before the rest of the week.
    for name in (*state, "worker"):
        live_system.processes[name].stop()
    try:
        assert demo_seed(
            multimail_state=state["multimail"],
            intercom_state=state["intercom"],
            multimail_port=live_system.multimail_port,
            intercom_port=live_system.intercom_port,
        )
        live_system.start_multimail("--state", str(state["multimail"]), wait=False)
        live_system.start_intercom("--state", str(state["intercom"]), wait=False)
        live_system.start_worker(concurrency=2, wait=False)
        live_system.wait_ready()
        yield
    finally:  # the next tests get empty sandboxes again, and a web process that never served the demo
        # (after it, the keyboard flow's reject POST hung in the same web process; not yet understood)
        for name in (*state, "worker", "web"):
            live_system.processes[name].stop()
        live_system.start_web(wait=False)
        live_system.start_multimail(wait=False)
        live_system.start_intercom(wait=False)
        live_system.start_worker(concurrency=2, wait=False)
        live_system.wait_ready()


@pytest.fixture
def laptop(browser, live_system, page_watch):
    """A fresh browser context at 1440x900 per person."""
    contexts = []

    def open_as(username: str | None):
        context = browser.new_context(base_url=live_system.web_url, viewport=LAPTOP)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page_watch.attach(context, page)
        if username:
            log_in(page, username)
        return page

    yield open_as
    for context in contexts:
        context.close()


def _held(key: str) -> Draft:
    subject = next(h.subject for h in demo_data.PENDING if h.key == key)
    return Draft.objects.get(status=Draft.Status.PENDING, subject=subject)


def _rejected_decision() -> Decision:
    reason = next(p.reason for p in demo_data.PAST if p.reason.startswith("Policy"))
    return Decision.objects.get(reason=reason)


def _pages_of_each_person() -> dict[str, list[str]]:
    decision = _rejected_decision()
    event = AuditEvent.objects.filter(action="draft.decided").order_by("-seq").first()
    mailbox = Mailbox.objects.order_by("pk").first()
    drafts = [_held(key).pk for key in ("lookalike_link", "customer_wrote_again", "invoice_with_vat")]
    return {
        "reviewer": ["/queue/", *(f"/queue/drafts/{pk}/" for pk in drafts), "/accounts/profile/"],
        "auditor": [
            "/audit/",
            "/audit/?action=draft.decided",
            f"/audit/events/{event.seq}/",
            f"/audit/decisions/{decision.pk}/",
            "/audit/summaries/",
            "/audit/verification/",
            "/audit/reconciliation/",
        ],
        "admin": [
            "/manage/mailboxes/",
            f"/manage/mailboxes/{mailbox.pk}/",
            "/manage/mailboxes/new",
            "/manage/routing/",
            "/manage/routing/versions/1/",
            "/manage/people/",
            "/manage/intake-tokens/",
            "/manage/health/",
        ],
    }


def _axe_problems(page) -> list[str]:
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async (impacts) => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations
                .filter((v) => impacts.includes(v.impact))
                .map((v) => `${v.impact} ${v.id}: ${v.help} — ` +
                    v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
        }""",
        list(BLOCKING_IMPACTS),
    )
    return [f"{page.url}: {violation}" for violation in violations]


def _focus_problems(page) -> list[str]:
    """Tab through the page: focus must go forward in document order, to visible controls that show it."""
    page.evaluate("document.activeElement && document.activeElement.blur(); window.__lastFocused = null")
    problems = []
    for _ in range(TAB_STEPS):
        page.keyboard.press("Tab")
        step = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return {done: true};
                const previous = window.__lastFocused;
                window.__lastFocused = el;
                const box = el.getBoundingClientRect();
                const style = getComputedStyle(el);
                const shown = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                    || style.boxShadow !== "none";
                const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " «" +
                    (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 40) + "»";
                return {
                    done: false,
                    name,
                    backwards: !!previous
                        && !!(previous.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING),
                    visible: box.width > 0 && box.height > 0 && style.visibility !== "hidden",
                    shown,
                };
            }"""
        )
        if step["done"]:
            break
        if step["backwards"]:
            break  # wrapped around to the top (or into the browser's own controls): the walk is over
        if not step["visible"]:
            problems.append(f"{page.url}: focus went to a hidden element {step['name']}")
        elif not step["shown"]:
            problems.append(f"{page.url}: no visible focus indicator on {step['name']}")
    return problems


def test_every_demo_page_has_no_serious_accessibility_violation(demo, laptop, person, page_watch):
    person("reviewer", "reviewer")
    person("auditor", "auditor")
    person("admin", "admin")
    problems = []
    login = laptop(None)
    login.goto("/accounts/login/")
    problems += _axe_problems(login) + _focus_problems(login)
    for username, urls in _pages_of_each_person().items():
        page = laptop(username)
        for url in urls:
            answer = page.goto(url)
            assert answer.status == 200, f"{url} as {username}: {answer.status}"
            problems += _axe_problems(page) + _focus_problems(page)
    assert problems == [], "\n".join(problems)
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.foreign_requests == []


def test_readme_screenshots_show_the_demo(demo, laptop, person, page_watch):
    person("reviewer", "reviewer")
    person("auditor", "auditor")
    person("admin", "admin")

    login = laptop(None)
    login.goto("/accounts/login/")
    screenshot(login, "login")

    reviewer = laptop("reviewer")
    reviewer.goto("/queue/")
    rows = reviewer.locator("table tbody tr")
    rows.first.wait_for()
    assert rows.count() == len(demo_data.PENDING)
    screenshot(reviewer, "queue")
    replied = _held("customer_wrote_again")
    reviewer.goto(f"/queue/drafts/{replied.pk}/")
    reviewer.get_by_text("I'd rather have a refund").first.wait_for()
    screenshot(reviewer, "draft")
    lookalike = _held("lookalike_link")
    reviewer.goto(f"/queue/drafts/{lookalike.pk}/")
    assert demo_data.LOOKALIKE_DOMAIN in reviewer.inner_text("main")
    screenshot(reviewer, "draft-lookalike-link")

    auditor = laptop("auditor")
    auditor.goto("/audit/?actor=maya.patel")
    assert auditor.locator("#events-table tbody tr").count() >= 8  # her week of decisions
    screenshot(auditor, "audit-trail")
    auditor.goto("/audit/?action=draft.decided")
    assert auditor.locator("#events-table tbody tr").count() >= 10
    screenshot(auditor, "audit-events")
    decision = _rejected_decision()
    auditor.goto(f"/audit/decisions/{decision.pk}/")
    assert decision.reason in auditor.inner_text("main")
    screenshot(auditor, "audit-decision")
    auditor.goto("/audit/summaries/")
    assert auditor.locator("svg.chart rect.chart-bar").count() >= 6  # three reviewers, three mailboxes
    screenshot(auditor, "audit-summaries")

    admin = laptop("admin")
    admin.goto("/manage/routing/")
    admin.get_by_role("button", name="Add a rule").click()
    new_rule = 3  # after the demo's billing and privacy rules
    admin.get_by_label(f"rule {new_rule} domain").fill("lindqvist-design.example")
    billing = Mailbox.objects.get(address=f"billing@{demo_data.DOMAIN}")
    admin.get_by_label(f"rule {new_rule} mailbox").select_option(billing.mailbox_id)
    admin.get_by_role("button", name="Dry run against recent drafts").click()
    admin.locator("section.dry-run").wait_for()
    screenshot(admin, "routing-dry-run")
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
