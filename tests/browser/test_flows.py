"""The three audiences, end to end in Chromium against the live system (gunicorn, a Celery worker,
the MultiMail and Intercom sandboxes). Each flow checks no template syntax leaks onto its pages.

- A reviewer logs in and works drafts from the keyboard only: approve, reject with a reason, skip;
  the queue shows a draft that arrives while the page is open, without a reload.
- An auditor finds that decision in the audit trail and opens its full record.
- An admin dry-runs a new routing rule against recent intake drafts, then saves it.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings

from reviewqueue.audit.services import Actor
from reviewqueue.review.models import Decision, Draft
from reviewqueue.routing.models import RoutingRuleSet
from reviewqueue.routing.services import mailboxes_sync, ruleset_save
from reviewqueue.sandbox.multimail import defaults
from tests.browser.conftest import PASSWORD, assert_no_template_syntax, pass_two_factor
from tests.flow import Driver
from tests.livesystem import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def driver(live_system):
    driver = Driver(live_system)
    yield driver
    driver.close()


def _drafts_arrive(driver, count: int, subject_prefix: str) -> list[Draft]:
    """Customers write in Intercom, the agent's drafts land in MultiMail; wait until each is in the queue."""
    emails = []
    for number in range(count):
        address = f"{subject_prefix.lower()}{number}@customer.example"
        driver.customer_conversation(email=address, text=f"Hello, question number {number} about my order")
        emails.append(driver.agent_draft(to=address, subject=f"{subject_prefix} {number}"))

    def fetched():
        drafts = list(Draft.objects.filter(email_id__in=emails, fetched_at__isnull=False).exclude(conversation_id=""))
        return drafts if len(drafts) == count else None

    wait_for(fetched, timeout=45, what=f"{count} drafts reach the queue")
    return [Draft.objects.get(email_id=email) for email in emails]


def _keyboard_login(page, username: str) -> None:
    page.goto("/accounts/login/")
    # The username field has autofocus; under load typing can start before it is focused, and is lost.
    page.wait_for_function("document.activeElement && document.activeElement.name === 'username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    pass_two_factor(page, username)  # admins: a code after the password


def _current_draft_id(page) -> int:
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def test_reviewer_works_the_queue_from_the_keyboard(page, page_watch, person, driver):
    person("rita", "reviewer")
    drafts = _drafts_arrive(driver, 4, "Order")
    _keyboard_login(page, "rita")
    assert page.url.endswith("/queue/")
    for draft in drafts:
        page.get_by_text(draft.subject).wait_for()
    assert_no_template_syntax(page)

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/queue/drafts/*/")
    page.locator("#draft-body").wait_for()
    assert_no_template_syntax(page)

    approved = _current_draft_id(page)
    page.keyboard.press("a")  # approve
    page.wait_for_url(lambda url: not url.endswith(f"/drafts/{approved}/"))
    page.locator("#draft-body").wait_for()

    rejected = _current_draft_id(page)
    page.keyboard.press("r")  # focus the reason list
    page.keyboard.press("ArrowDown")  # the first preset reason
    page.keyboard.press("Tab")
    page.keyboard.type("Promises a refund date we cannot keep.")
    page.keyboard.press("Tab")  # to the Reject button
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: not url.endswith(f"/drafts/{rejected}/"))
    page.locator("#draft-body").wait_for()

    skipped = _current_draft_id(page)
    page.keyboard.press("s")  # skip: on to the next, nothing decided
    page.wait_for_url(lambda url: not url.endswith(f"/drafts/{skipped}/"))

    decisions = {d.draft_id: d for d in Decision.objects.filter(draft_id__in=[approved, rejected, skipped])}
    assert set(decisions) == {approved, rejected}
    assert decisions[approved].action == "approve"
    assert decisions[rejected].action == "reject"
    assert "Promises a refund date we cannot keep." in decisions[rejected].reason
    assert decisions[rejected].origin == "web"
    assert Draft.objects.get(pk=skipped).status == Draft.Status.PENDING

    # Back on the queue, a draft arrives while the page is open: it shows up without a reload.
    page.keyboard.press("q")
    page.wait_for_url("**/queue/")
    page.evaluate("window.__notReloaded = true")
    (late,) = _drafts_arrive(driver, 1, "Late")
    page.get_by_text(late.subject).wait_for(timeout=20_000)
    assert page.evaluate("window.__notReloaded") is True
    decided_subjects = [Draft.objects.get(pk=pk).subject for pk in (approved, rejected)]
    assert [s for s in decided_subjects if page.get_by_role("link", name=s, exact=True).count()] == []
    assert page.get_by_role("link", name=Draft.objects.get(pk=skipped).subject, exact=True).count() == 1

    # The decisions reach MultiMail through the worker.
    wait_for(
        lambda: all(
            driver.multimail_decisions()[Draft.objects.get(pk=pk).email_id] == 1 for pk in (approved, rejected)
        ),
        timeout=30,
        what="both decisions reach MultiMail once",
    )
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.page_errors == []
    assert page_watch.foreign_requests == []


def _watch_htmx(page) -> None:
    """Count the page's htmx requests in flight and note when the last one started or ended."""
    page.evaluate(
        """() => {
            const watch = (window.htmxWatch = {started: false, inFlight: 0, lastActivity: performance.now()});
            document.body.addEventListener("htmx:beforeRequest", () => {
                watch.started = true;
                watch.inFlight += 1;
                watch.lastActivity = performance.now();
            });
            document.body.addEventListener("htmx:afterRequest", () => {
                watch.inFlight -= 1;
                watch.lastActivity = performance.now();
            });
        }"""
    )


def _wait_until_htmx_quiet(page, quiet_ms: int = 1500) -> None:
    """Wait until an htmx request has run, none is in flight and none started for `quiet_ms`.

    Typing in the audit search starts a delayed search (400 ms after the last keystroke) and Enter
    submits at once; the form runs one request at a time, then only the latest waiting one (hx-sync
    "queue last"), but a click landing while a swap happens (pressed on the old table, released on
    the new one) is lost. Once the page has been quiet well past that delay, the table stays.
    """
    page.wait_for_function(
        """(quietMs) => {
            const watch = window.htmxWatch;
            return watch.inFlight === 0 && performance.now() - watch.lastActivity > quietMs && watch.started;
        }""",
        arg=quiet_ms,
        polling=100,
    )


def test_auditor_finds_a_decision_and_opens_its_record(browser, live_system, page_watch, person, driver):
    reviewer = person("rita", "reviewer")
    person("aldo", "auditor")
    (draft,) = _drafts_arrive(driver, 1, "Audit")
    with driver.api(_token(reviewer)) as api:
        answer = api.post(f"/drafts/{draft.pk}/decision", json={"action": "reject", "reason": "Wrong customer name"})
    assert answer.status_code == 201, answer.text
    decision_id = answer.json()["decision"]["id"]

    context = browser.new_context(base_url=live_system.web_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page_watch.attach(context, page)
    _keyboard_login(page, "aldo")
    assert "/audit/" in page.url
    page.fill("#id_q", "Wrong customer name")
    _watch_htmx(page)
    page.keyboard.press("Enter")
    _wait_until_htmx_quiet(page)
    assert parse_qs(urlsplit(page.url).query)["q"] == ["Wrong customer name"]  # the filtered table is shown
    assert_no_template_syntax(page)
    page.get_by_role("link", name="record").first.click()
    page.wait_for_url(f"**/audit/decisions/{decision_id}/")
    body = page.inner_text("main")
    assert "Wrong customer name" in body
    assert "rita" in body
    assert draft.subject in body
    assert_no_template_syntax(page)
    context.close()
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.foreign_requests == []


def test_admin_adds_a_routing_rule_after_its_dry_run(page, page_watch, person, driver, live_system, settings):
    person("ada", "admin")
    vip = driver.multimail.post(
        "/v1/mailboxes", json={"address_local": "vip", "display_name": "VIP desk"}, headers=driver.admin_key
    )
    assert vip.is_success, vip.text
    vip_id = vip.json()["id"]
    settings.MULTIMAIL_API_URL = live_system.multimail_url
    settings.MULTIMAIL_ADMIN_API_KEY = django_settings.MULTIMAIL_ADMIN_API_KEY or defaults.ADMIN_KEY
    mailboxes_sync(actor=Actor.system("test"))
    ruleset_save(rules=[], default_mailbox_id=defaults.DEMO_MAILBOX_ID, actor=Actor.system("test"))
    _intake_draft(driver, "vip-customer@vip.example")

    _keyboard_login(page, "ada")
    page.goto("/manage/routing/")
    page.get_by_role("button", name="Add a rule").click()
    page.get_by_label("rule 1 domain").wait_for()
    page.get_by_label("rule 1 domain").fill("vip.example")
    page.get_by_label("rule 1 mailbox").select_option(vip_id)
    page.get_by_role("button", name="Dry run against recent drafts").click()
    dry_run = page.locator("section.dry-run")
    dry_run.wait_for()
    summary = dry_run.get_by_role("heading").inner_text()
    assert summary.startswith("Dry run: 1 of the last ") and summary.endswith("would route differently")
    changed = dry_run.locator("tr.changed")
    assert changed.count() == 1 and vip_id in changed.inner_text() and "vip.example" in changed.inner_text()
    assert_no_template_syntax(page)
    assert RoutingRuleSet.objects.count() == 1  # a dry run saves nothing

    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_text("Saved as version 2").wait_for()
    active = RoutingRuleSet.objects.order_by("-version").first()
    assert active.version == 2
    assert page_watch.console_errors == [], "\n".join(page_watch.console_errors)
    assert page_watch.foreign_requests == []


def _token(user) -> str:
    from reviewqueue.accounts.services import api_token_issue

    return api_token_issue(user=user, name="browser test", actor=Actor.system("test"))[1]


def _intake_draft(driver, recipient: str) -> None:
    """An agent submits a draft through intake, so the dry run has a recent intake draft to compare."""
    from reviewqueue.routing.services import intake_token_issue

    _, token = intake_token_issue(name="agent", actor=Actor.system("test"))
    conversation_id = driver.customer_conversation(email=recipient)
    answer = driver.web.post(
        "/api/v1/drafts",
        json={
            "intercom_conversation_id": conversation_id,
            "to": [recipient],
            "subject": "Your upgrade",
            "markdown": "Hi",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 202, answer.text
