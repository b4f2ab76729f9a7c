"""bench/soak.py's table: what ran, what was injected, what was lost, doubled or forged, and the verdict."""

import os
from datetime import UTC, datetime
from pathlib import Path

import _soak_checks as checks
import _soak_faults as faults
from _report import report


def table(
    args, run, injector, result: dict, elapsed: dict, server_notes: list[str], extras=((), True)
) -> tuple[str, bool]:
    counts = result["decisions"]["counts"]
    notes = result["notes"]
    tags, replies, called, guard = result["tags"], result["replies"], result["callbacks"], result["guard"]
    chaos = result["sandbox_chaos"]
    extra_rows, extras_ok = extras
    left = result["outbox_left"]
    stuck = left.get("pending", 0) + left.get("running", 0)
    lat = result["latencies"]
    p50, p99 = checks.percentile(lat, 0.5), checks.percentile(lat, 0.99)
    injected = {kind: sum(1 for f in injector.injected if f.kind == kind) for kind in faults.KINDS}
    recon = result["reconciliation"]
    bad = counts["lost"] + counts["doubled"] + counts["wrong"] + notes["lost"] + notes["doubled"]
    bad += result["forged_accepted"] + stuck + run.counts["race double 201"]
    bad += sum(tags["lost"].values()) + sum(tags["doubled"].values()) + replies["lost"] + guard["accepted stale"]
    bad += called["lost"] + called["doubled"] + called["stuck"] + called["bad_signatures"]
    ok = bad == 0 and result["audit"][0] and recon["open"] == 0 and extras_ok

    def secs(value):
        return "n/a" if value is None else f"{value:.1f} s"

    rows = [
        (
            "run",
            f"{args.drafts:,} drafts over {args.minutes:g} min, seed {args.seed}, {args.kills} worker kills, "
            f"{args.workers} workers x {args.concurrency} pool processes",
        ),
        ("machine", f"{os.cpu_count()} CPUs, load average at the end {os.getloadavg()[0]:.1f}"),
        ("drafts submitted", f"{len(run.draft_ids):,} ({run.counts['unsubmitted']} never got in)"),
        (
            "decisions recorded",
            f"{counts['decisions']:,} ({counts['edited']} with an edit; {counts['undecided']} drafts undecided)",
        ),
        ("raced decisions", f"{run.counts['race 409s']} losers got 409; both won: {run.counts['race double 201']}"),
        *((f"faults: {kind}", str(injected[kind])) for kind in faults.KINDS),
        (
            "webhooks duplicated / reordered / forged by the driver",
            f"{run.webhooks['duplicated']} / {run.webhooks['reordered']} / "
            f"{run.forged['sent']} MultiMail + {run.forged['intercom sent']} Intercom",
        ),
        (
            "webhooks duplicated / reordered / forged by MultiMail's sandbox",
            f"{chaos['duplicated']} / {chaos['reordered']} / {chaos['forged']} (knobs 30% / 30% / 10%;"
            " Intercom's sandbox: 30% duplicated, 30% overtaken)",
        ),
        (
            "customer replies (Intercom webhooks)",
            f"{replies['replies']}; lost from our context: {replies['lost']}"
            + (f" (not at Intercom: {replies['not_at_intercom']})" if replies["not_at_intercom"] else ""),
        ),
        (
            "stale-context guard",
            f"{guard['refused']} approvals of a stale view refused 409, {guard['accepted stale']} accepted "
            f"({guard['stale rejects']} rejections of a stale view taken, as designed); "
            f"{guard['not seen in time']} replies not in our context within 90 s, "
            f"{guard['no snapshot in time']} drafts without a snapshot within 90 s",
        ),
        ("processes that exited by themselves (restarted, as a supervisor would)", _crashes(injector.crashes)),
        ("decisions lost at MultiMail", str(counts["lost"])),
        ("decisions doubled at MultiMail", str(counts["doubled"])),
        ("decisions carried out differently", str(counts["wrong"])),
        ("Intercom notes lost / doubled", f"{notes['lost']} / {notes['doubled']} of {notes['notes']}"),
        (
            "MultiMail tags lost / doubled",
            f"{tags['lost']['multimail']} / {tags['doubled']['multimail']} of {tags['multimail']}",
        ),
        (
            "Intercom tags lost / doubled",
            f"{tags['lost']['intercom']} / {tags['doubled']['intercom']} of {tags['intercom']}",
        ),
        (
            "callbacks lost / doubled",
            f"{called['lost']} / {called['doubled']} of {called['deliveries']} ({called['received']} received; "
            f"{called['redelivered']} redelivered under the same webhook-id; {called['stuck']} stuck, "
            f"{called['bad_signatures']} bad signatures)",
        ),
        ("forged events accepted", f"{result['forged_accepted']} of {result['forged_sent']}"),
        ("verify_audit", ("intact: " if result["audit"][0] else "BROKEN: ") + result["audit"][1][:120]),
        ("reconciliation open findings", f"{recon['open']} {recon['examples'] if recon['open'] else ''}".strip()),
        ("outbox items stuck / failed", f"{stuck} / {left.get('failed', 0)}"),
        ("webhooks stored, awaiting their 10-minute re-drive", str(result["webhooks_waiting"])),
        ("decision -> carried out, p50 / p99", f"{secs(p50)} / {secs(p99)} ({len(lat)} decisions)"),
        *((f"longest recovery: {kind}", secs(result["recoveries"].get(kind))) for kind in faults.KINDS),
        (
            "driving / settling / checking",
            f"{elapsed['drive']:.0f} s / {elapsed['settle']:.0f} s / {elapsed.get('check', 0):.0f} s",
        ),
        ("checks' time", ", ".join(f"{name} {took:.1f} s" for name, took in result.get("timings", {}).items())),
        *extra_rows,
        ("verdict", "PASS" if ok else "FAIL"),
    ]
    skipped = [f"{kind}: {why}" for kind, why in injector.skipped.items()] + server_notes
    lines = ["| figure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    if skipped:
        lines += ["", "Skipped or limited: " + "; ".join(skipped)]
    problems = result["decisions"]["problems"][:10] + tags["examples"] + called["examples"] + replies["examples"]
    if problems:
        lines += ["", "First problems:", *(f"- {p}" for p in problems)]
    return "\n".join(lines), ok


def _crashes(crashes: list) -> str:
    if not crashes:
        return "0"
    by_name: dict[str, int] = {}
    for _, name, _ in crashes:
        kind = "worker" if name.startswith("worker") else name
        by_name[kind] = by_name.get(kind, 0) + 1
    first = crashes[0][2].replace("|", "/")[:200]
    return f"{len(crashes)} ({', '.join(f'{n} {k}' for k, n in by_name.items())}); first: {first}"


def write(path: str, text: str, args) -> None:
    header = (
        "# Reliability: the soak under faults (bench/soak.py)\n\n"
        f"Written by `bench/soak.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        f"Rerun: `.venv/bin/python bench/soak.py --drafts {args.drafts} --minutes {args.minutes:g} "
        f"--kills {args.kills} --workers {args.workers} --concurrency {args.concurrency} --seed {args.seed}"
        f"{' --no-extras' if args.no_extras else ''}` (`make soak` is the default run: 10,000 drafts over "
        "30 minutes; `make soak SOAK_ARGS=--quick` 1,000 over 5).\n\n"
    )
    Path(path).write_text(header + text + "\n")


def results(args, result: dict) -> None:
    counts, notes = result["decisions"]["counts"], result["notes"]
    size = f"{args.drafts:,} drafts, {args.kills} worker kills, seed {args.seed}"
    lost_or_doubled = counts["lost"] + counts["doubled"] + counts["wrong"] + notes["lost"] + notes["doubled"]
    tags, called = result["tags"], result["callbacks"]
    lost_or_doubled += sum(tags["lost"].values()) + sum(tags["doubled"].values()) + called["lost"] + called["doubled"]
    report(f"soak: decisions, notes, tags and callbacks lost, doubled or changed ({size})", lost_or_doubled, target="0",
           ok=lost_or_doubled == 0)  # fmt: skip
    report(f"soak: forged events accepted ({size})", result["forged_accepted"], target="0",
           ok=result["forged_accepted"] == 0)  # fmt: skip
