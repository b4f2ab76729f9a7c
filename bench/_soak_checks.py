"""bench/soak.py's checks after the system settled: the sandboxes' own records against ours, and the table."""

from __future__ import annotations

import bisect
import collections
import json
import re
import statistics
import subprocess
from datetime import UTC, datetime, timedelta

import httpx

from tests.livesystem import BASE_DIR, PYTHON, sandbox_keys

APPROVED = ("oversight.approved", "oversight.approved_and_sent")
REJECTED = ("oversight.rejected",)
NOTE_MARKER = re.compile(r"\(reviewqueue decision (\d+)\)")


def multimail_audit(multimail_url: str) -> tuple[dict[str, list[str]], dict[str, list[dict]]]:
    """From MultiMail's own audit log, one pass: {email_id: [decide action, ...]} and {email_id: [tag
    change {"old", "new"}, ...] oldest first}. Pages of 100 (the API's most) cost the same however long
    the log has grown."""
    headers = {"Authorization": f"Bearer {sandbox_keys()['MULTIMAIL_ADMIN_API_KEY']}"}
    entries: dict[str, list[str]] = collections.defaultdict(list)
    tags: dict[str, list[dict]] = collections.defaultdict(list)
    cursor = None
    with httpx.Client(base_url=multimail_url, timeout=30, headers=headers) as client:
        while True:
            page = client.get("/v1/audit-log", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
            page.raise_for_status()
            body = page.json()
            for entry in body.get("entries", body.get("items", [])):
                if entry["action"] in APPROVED + REJECTED:
                    entries[entry["resource_id"]].append(entry["action"])
                elif entry["action"] == "email.tags_updated":
                    tags[entry["resource_id"]].insert(0, entry.get("metadata") or {})  # pages run newest first
            cursor = body.get("cursor")
            if not cursor:
                return entries, tags


def intercom_state(intercom_url: str) -> dict:
    """The Intercom sandbox's conversations, read once for the notes, tags and replies checks."""
    return httpx.get(f"{intercom_url}/_sandbox/state", timeout=120).json().get("conversations", {})


def _parts(conversation: dict) -> list[dict]:
    return conversation.get("conversation_parts", {}).get("conversation_parts", []) or conversation.get("parts", [])


def intercom_notes(conversations: dict) -> collections.Counter:
    """{decision_id: how many of our notes name it}, from the Intercom sandbox's own conversations."""
    counts: collections.Counter = collections.Counter()
    for conversation in conversations.values():
        for part in _parts(conversation):
            if part.get("part_type") == "note":
                for decision_id in NOTE_MARKER.findall(str(part.get("body") or "")):
                    counts[int(decision_id)] += 1
    return counts


def tags_check(draft_ids: list[int], tag_changes: dict[str, list[dict]], conversations: dict) -> dict:
    """Tags carried out, against the vendors' records.

    MultiMail (tag_email: reviewed_by, review_decision_id on the decided email): lost = an item we hold
    done whose email does not end with its decision's id; doubled = an email given a decision id twice
    (a write that added it when it was already there or another one was) — rewriting the same set,
    a retry MultiMail's PUT makes harmless, is neither. Intercom (the conversation's email-approved,
    email-rejected tag): lost = an item done whose tag is not on the conversation; doubled = a tag on
    a conversation twice."""
    from reviewqueue.review.models import OutboxItem

    items = OutboxItem.objects.filter(draft_id__in=draft_ids, kind__in=["tag_email", "intercom_tag"], status="done")
    email_items = list(items.filter(kind="tag_email").values_list("decision_id", "draft__email_id"))
    conversation_items = list(items.filter(kind="intercom_tag").values_list("draft__conversation_id", "payload"))
    lost, doubled, examples = collections.Counter(), collections.Counter(), []
    for decision_id, email_id in email_items:
        history = tag_changes.get(email_id, [])
        final = history[-1].get("new", {}) if history else {}
        if final.get("review_decision_id") != str(decision_id):
            lost["multimail"] += 1
            examples.append(f"email {email_id}: decision {decision_id} not in its tags {final}")
        added = [c for c in history if c.get("new", {}).get("review_decision_id") != c.get("old", {}).get(
            "review_decision_id") and c.get("new", {}).get("review_decision_id")]  # fmt: skip
        if len(added) > 1:
            doubled["multimail"] += 1
            examples.append(f"email {email_id}: given a decision id {len(added)} times")
    tags_on = {}
    for conversation_id, conversation in conversations.items():
        names = [t.get("name") for t in (conversation.get("tags") or {}).get("tags", [])]
        tags_on[str(conversation_id)] = names
        doubled["intercom"] += sum(1 for name in set(names) if names.count(name) > 1)
    for conversation_id, payload in conversation_items:
        if payload.get("tag") not in tags_on.get(str(conversation_id), []):
            lost["intercom"] += 1
            examples.append(f"conversation {conversation_id}: {payload.get('tag')} missing")
    return {
        "multimail": len(email_items),
        "intercom": len(conversation_items),
        "lost": lost,
        "doubled": doubled,
        "examples": examples[:5],
    }


def replies_check(replies: list[tuple[str, str]], conversations: dict) -> dict:
    """Each customer reply the soak posted is in the Intercom sandbox and in our latest snapshot of its
    conversation (the webhook refreshed the context; none dropped as stale or superseded)."""
    from reviewqueue.integrations.intercom.models import ConversationSnapshot

    ids = sorted({conversation_id for conversation_id, _ in replies})
    latest = {
        row.conversation_id: json.dumps(row.data)
        for row in ConversationSnapshot.objects.filter(conversation_id__in=ids)
        .order_by("conversation_id", "-id")
        .distinct("conversation_id")
    }
    at_intercom = {cid: json.dumps(_parts(conversations.get(cid, {}))) for cid in ids}
    lost_at_vendor = [m for cid, m in replies if m not in at_intercom.get(cid, "")]
    lost = [f"conversation {cid}: {m} not in our latest snapshot" for cid, m in replies if m not in latest.get(cid, "")]
    return {"replies": len(replies), "lost": len(lost), "not_at_intercom": len(lost_at_vendor), "examples": lost[:5]}


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
    made = [row[0] for row in rows]
    # The earliest done among decisions made at or after index i: one pass from the end, then a bisect per fault.
    earliest_done, running = [None] * len(rows), None
    for index in range(len(rows) - 1, -1, -1):
        done = rows[index][1]
        running = done if running is None or (done is not None and done < running) else running
        earliest_done[index] = running
    longest: dict[str, float] = {}
    for fault in injected:
        at = datetime.fromtimestamp(fault.at, tz=UTC)
        index = bisect.bisect_left(made, at)
        if index < len(rows) and earliest_done[index] is not None:
            seconds = (earliest_done[index] - at).total_seconds()
            longest[fault.kind] = max(longest.get(fault.kind, 0.0), seconds)
    return longest


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]
