"""bench/soak.py's checks after the system settled: the sandboxes' own records against ours, and the table."""

from __future__ import annotations

import collections
import re
import statistics
import subprocess
from datetime import UTC, datetime, timedelta

import httpx

from tests.livesystem import BASE_DIR, PYTHON, sandbox_keys

APPROVED = ("oversight.approved", "oversight.approved_and_sent")
REJECTED = ("oversight.rejected",)
NOTE_MARKER = re.compile(r"\(reviewqueue decision (\d+)\)")


def multimail_decide_entries(multimail_url: str) -> dict[str, list[str]]:
    """{email_id: [action, ...]}: every decide MultiMail took, from its own audit log."""
    headers = {"Authorization": f"Bearer {sandbox_keys()['MULTIMAIL_ADMIN_API_KEY']}"}
    entries: dict[str, list[str]] = collections.defaultdict(list)
    cursor = None
    with httpx.Client(base_url=multimail_url, timeout=30, headers=headers) as client:
        while True:
            page = client.get("/v1/audit-log", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            page.raise_for_status()
            body = page.json()
            for entry in body.get("entries", body.get("items", [])):
                if entry["action"] in APPROVED + REJECTED:
                    entries[entry["resource_id"]].append(entry["action"])
            cursor = body.get("cursor")
            if not cursor:
                return entries


def intercom_notes(intercom_url: str) -> collections.Counter:
    """{decision_id: how many of our notes name it}, from the Intercom sandbox's own conversations."""
    state = httpx.get(f"{intercom_url}/_sandbox/state", timeout=60).json()
    counts: collections.Counter = collections.Counter()
    for conversation in state.get("conversations", {}).values():
        for part in conversation.get("conversation_parts", {}).get("conversation_parts", []) or conversation.get(
            "parts", []
        ):
            if part.get("part_type") == "note":
                for decision_id in NOTE_MARKER.findall(str(part.get("body") or "")):
                    counts[int(decision_id)] += 1
    return counts


def decisions_against_multimail(draft_ids: list[int], entries: dict[str, list[str]]) -> dict:
    """Each decided draft decided exactly once at MultiMail, with the recorded decision.

    Approved with an edit: the edited email approved once, the original never approved (it is
    cancelled or rejected in its place)."""
    from reviewqueue.review.models import Decision, Draft

    drafts = dict(Draft.objects.filter(pk__in=draft_ids).values_list("pk", "email_id"))
    decisions = collections.defaultdict(list)
    for decision in Decision.objects.filter(draft_id__in=draft_ids).select_related("edit"):
        decisions[decision.draft_id].append(decision)
    result = collections.Counter()
    problems = []
    for draft_id, email_id in drafts.items():
        mine = decisions.get(draft_id, [])
        if not mine:
            result["undecided"] += 1
            continue
        result["decisions"] += 1
        if len(mine) > 1:
            result["doubled"] += 1
            problems.append(f"draft {draft_id}: {len(mine)} decisions recorded")
            continue
        decision = mine[0]
        edit = getattr(decision, "edit", None) if decision.is_edited else None
        target = edit.edited_email_id if edit is not None else email_id
        taken = entries.get(target, []) if target else []
        wanted = APPROVED if decision.action == "approve" else REJECTED
        if edit is not None:
            result["edited"] += 1
            if any(a in APPROVED for a in entries.get(email_id, [])):
                result["doubled"] += 1
                problems.append(f"draft {draft_id}: original {email_id} approved besides its edit")
        if decision.action == "request_changes":
            continue
        if not taken:
            result["lost"] += 1
            problems.append(f"draft {draft_id} ({target}): decided {decision.action}, MultiMail has no decide")
        elif len(taken) > 1:
            result["doubled"] += 1
            problems.append(f"draft {draft_id} ({target}): MultiMail decided {len(taken)} times: {taken}")
        elif taken[0] not in wanted:
            result["wrong"] += 1
            problems.append(f"draft {draft_id} ({target}): recorded {decision.action}, MultiMail took {taken[0]}")
    return {"counts": result, "problems": problems}


def notes_against_intercom(draft_ids: list[int], notes: collections.Counter) -> dict:
    """Each note item we hold done is in the Intercom conversation once."""
    from reviewqueue.review.models import OutboxItem

    done = OutboxItem.objects.filter(draft_id__in=draft_ids, kind="intercom_note", status="done").values_list(
        "decision_id", flat=True
    )
    lost = [d for d in done if notes[d] == 0]
    doubled = [d for d in done if notes[d] > 1]
    return {"notes": len(done), "lost": len(lost), "doubled": len(doubled), "examples": (lost + doubled)[:5]}


def outbox_left(draft_ids: list[int]) -> dict[str, int]:
    from django.db.models import Count

    from reviewqueue.review.models import OutboxItem

    rows = (
        OutboxItem.objects.filter(draft_id__in=draft_ids)
        .exclude(status="done")
        .values("status")
        .annotate(n=Count("pk"))
    )
    return {row["status"]: row["n"] for row in rows}


def verify_audit(env: dict) -> tuple[bool, str]:
    done = subprocess.run(
        [PYTHON, "manage.py", "verify_audit"], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip().splitlines()[-1:][0] if (
        done.stdout + done.stderr
    ).strip() else ""


def reconciliation(multimail_url: str) -> dict:
    """Run reconciliation now (no grace: everything has settled) and count the findings left open."""
    from django.conf import settings

    from reviewqueue.audit.models import ReconciliationFinding
    from reviewqueue.audit.reconcile import reconciliation_run

    settings.MULTIMAIL_API_URL = multimail_url
    report = reconciliation_run(grace=timedelta(0))
    open_findings = ReconciliationFinding.objects.filter(resolved_at__isnull=True)
    return {
        "complete": report.complete,
        "open": open_findings.count(),
        "examples": [str(f) for f in open_findings[:5]],
    }


def latencies(draft_ids: list[int]) -> list[float]:
    """Seconds from each decision to its decide done at MultiMail."""
    from reviewqueue.review.models import OutboxItem

    rows = OutboxItem.objects.filter(draft_id__in=draft_ids, kind="decide", status="done").values_list(
        "decision__decided_at", "done_at"
    )
    return sorted((done - made).total_seconds() for made, done in rows if made and done)


def recoveries(draft_ids: list[int], injected) -> dict[str, float]:
    """Per kind, the longest time from a fault until the first decision made after it was carried out."""
    from reviewqueue.review.models import OutboxItem

    rows = list(
        OutboxItem.objects.filter(draft_id__in=draft_ids, kind="decide", status="done")
        .values_list("decision__decided_at", "done_at")
        .order_by("decision__decided_at")
    )
    longest: dict[str, float] = {}
    for fault in injected:
        at = datetime.fromtimestamp(fault.at, tz=UTC)
        after = [done for made, done in rows if made >= at]
        if after:
            seconds = (min(after) - at).total_seconds()
            longest[fault.kind] = max(longest.get(fault.kind, 0.0), seconds)
    return longest


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]
