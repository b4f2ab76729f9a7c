"""Random tampers of the audit log, each judged by the product's own verifier (issue 23's tamper figures).

    rows, ok = soak_rows(seed, workdir)        # bench/soak.py's table: (figure, value) rows
    outcome = run(tampers=1000, seed=1, events=3000)   # in-process, Django already on its own database

A log is built through the real append API (audit_record / audit_record_many: reviewers deciding,
the poller, tokens, logins, exports), with signed checkpoints taken as the hourly beat task takes
them (audit_checkpoint_store, here every 150-350 events) and an unsigned tail after the last one.
Then each seeded tamper runs inside a transaction that is rolled back afterwards: the append-only
triggers are dropped in it, the log (or a checkpoint) is changed the way someone with the database
owner's rights could, and the verifier runs as verify_audit runs it (audit_verification_start /
audit_verification_run, i.e. verify.verify_chain). Detected = the verification is not intact; named =
its first bad seq is the tampered position (or, for a consistent rewrite the chain cannot see, the
first signed checkpoint it breaks). Untouched logs are verified too (before, and after every 10th
rollback): any of those not intact is a false alarm.

What the chain cannot see is probed apart, once each, and reported as such (not in the 1,000): the
unsigned tail (events after the last checkpoint can be cut, or a well-chained event appended), a
tail cut together with the checkpoints that cover it, and the tables beside the chain (the reason
search index, the records of past verifications).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _tamper_kinds import KINDS, Log, build_log, execute, forged_row, group, insert_row, read_checkpoints, read_rows  # noqa: E402

UNTOUCHED_VERIFICATIONS = 100
RECHECK_EVERY = 10  # verify the untouched log again after every 10th rollback


# --- running them ---------------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def _verify():
    """As verify_audit runs it: a verification record, the walk, the outcome on the record."""
    from reviewqueue.audit.services import audit_verification_run, audit_verification_start

    verification = audit_verification_start(label="tamper bench")
    return audit_verification_run(verification_id=verification.pk)


_TRIGGERS = {
    "audit_auditevent": "audit_event_no_update_or_delete",
    "audit_auditcheckpoint": "audit_checkpoint_no_update_or_delete",
}


def _append_only(enabled: bool) -> None:
    """The triggers that refuse UPDATE and DELETE on the log and its checkpoints: off while tampering
    (once, not in every tamper's transaction: DDL there took most of each tamper's time), on after."""
    for table, trigger in _TRIGGERS.items():
        execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER {trigger}")


def _tampered(tamper) -> tuple[object, object]:
    """Apply `tamper` in a transaction, verify inside it, roll it all back: (its return, the verification)."""
    from django.db import transaction

    outcome = {}
    try:
        with transaction.atomic():
            outcome["expected"] = tamper()
            outcome["verification"] = _verify()
            raise _Rollback
    except _Rollback:
        pass
    return outcome["expected"], outcome["verification"]


@dataclass
class Outcome:
    events: int
    checkpoints: int
    signed_through: int
    tampers: int = 0
    detected: int = 0
    named: int = 0
    untouched: int = 0
    false_alarms: int = 0
    by_kind: dict = field(default_factory=lambda: defaultdict(Counter))
    misses: list = field(default_factory=list)  # (kind, expected seq, verification summary)
    beyond: list = field(default_factory=list)  # (probe, detected?, note)
    seconds: dict = field(default_factory=dict)
    untouched_first: int = 0  # verifications of the untouched log before any tamper (timed together)

    @property
    def ok(self) -> bool:
        return self.tampers > 0 and self.detected == self.named == self.tampers and self.false_alarms == 0


def run(*, tampers: int, seed: int, events: int, untouched: int = UNTOUCHED_VERIFICATIONS) -> Outcome:
    """Build the log, then `tampers` seeded tampers, each verified and rolled back (Django set up, migrated)."""
    rng = random.Random(seed)
    started = time.perf_counter()
    build_log(events, rng)
    log = Log(read_rows(), read_checkpoints())
    outcome = Outcome(log.size, len(log.checkpoints), log.signed_through)
    outcome.seconds["build"] = time.perf_counter() - started

    started = time.perf_counter()
    for _ in range(untouched):
        _count_untouched(outcome)
    outcome.seconds["untouched"] = time.perf_counter() - started
    outcome.untouched_first = untouched

    _append_only(False)
    try:
        _run_tampers(outcome, log, rng, tampers)
        outcome.beyond = beyond_the_chain(log, rng)
    finally:
        _append_only(True)
    return outcome


def _run_tampers(outcome: Outcome, log: Log, rng: random.Random, tampers: int) -> None:
    started = time.perf_counter()
    names = sorted(KINDS)
    for number in range(tampers):
        kind = names[number % len(names)] if number < len(names) else rng.choice(names)  # every kind at least once
        expected, verification = _tampered(lambda kind=kind: KINDS[kind](log, rng))
        outcome.tampers += 1
        detected = verification.status != verification.Status.INTACT
        named = detected and verification.first_bad_seq == expected
        outcome.detected += detected
        outcome.named += named
        counts = outcome.by_kind[kind]
        counts["run"] += 1
        counts["detected"] += detected
        counts["named"] += named
        counts[f"problem {verification.problem or 'none'}"] += 1
        if not named:
            outcome.misses.append((kind, expected, verification.detail))
        if (number + 1) % RECHECK_EVERY == 0:
            _count_untouched(outcome)
    outcome.seconds["tampers"] = time.perf_counter() - started


def _count_untouched(outcome: Outcome) -> None:
    verification = _verify()
    outcome.untouched += 1
    if verification.status != verification.Status.INTACT or verification.events_checked != outcome.events:
        outcome.false_alarms += 1
        outcome.misses.append(("untouched log", None, verification.detail))


def beyond_the_chain(log: Log, rng: random.Random) -> list[tuple[str, bool, str]]:
    """Tampers the verifier cannot see by design, each tried once: (what, detected, why)."""
    tail = log.size - log.signed_through

    def cut_tail():
        execute("DELETE FROM audit_auditevent WHERE seq > %s", [log.signed_through])

    def append_chained():
        insert_row(forged_row(log, log.size + 1, log.rows[-1][12], rng))

    def cut_with_checkpoints():
        previous = sorted({seq for _id, seq, _h, _s in log.checkpoints})[-2]
        execute("DELETE FROM audit_auditcheckpoint WHERE seq > %s", [previous])
        execute("DELETE FROM audit_auditevent WHERE seq > %s", [previous])

    def search_index():
        execute("DELETE FROM audit_auditreasonsearch WHERE seq = (SELECT max(seq) FROM audit_auditreasonsearch)")

    def verification_record():
        execute(
            "UPDATE audit_auditverification SET status = 'intact', first_bad_seq = NULL "
            "WHERE id = (SELECT max(id) FROM audit_auditverification)"
        )

    probes = [
        (f"the unsigned tail cut ({tail} events after the last checkpoint)", cut_tail, "no checkpoint holds them yet"),
        ("a well-chained forged event appended", append_chained, "hashes are unkeyed: anyone can extend the chain"),
        (
            "the tail cut with the checkpoints that cover it",
            cut_with_checkpoints,
            "checkpoints live in the same database",
        ),
        ("a reason removed from the search index", search_index, "audit_auditreasonsearch is outside the chain"),
        ("a past verification's record rewritten", verification_record, "records of runs, not covered"),
    ]
    found = []
    for name, tamper, why in probes:
        if (tail == 0 and "tail" in name) or (name.startswith("the tail cut with") and len(log.checkpoints) < 2):
            continue
        _expected, verification = _tampered(tamper)
        found.append((name, verification.status != verification.Status.INTACT, why))
    return found


# --- figures ----------------------------------------------------------------------------------------------


def figures(outcome: Outcome) -> list[dict]:
    """The figures as report() arguments (bench/_report.py), in table order."""
    n = outcome.tampers
    pct = 100.0 * outcome.detected / n if n else 0.0
    groups = Counter()
    for kind, counts in outcome.by_kind.items():
        groups[group(kind)] += counts["run"]
    total = sum(outcome.seconds.values())
    untouched_first = outcome.untouched_first
    return [
        dict(
            figure=f"audit tampers run (log of {outcome.events:,} events, {outcome.checkpoints} signed checkpoints "
            f"through #{outcome.signed_through})",
            value=n,
        ),
        dict(
            figure="audit tampers detected by verify_audit",
            value=f"{outcome.detected:,}/{n:,} = {pct:.1f}%",
            target="100%",
            ok=outcome.detected == n,
        ),
        dict(
            figure="first bad event named correctly",
            value=f"{outcome.named:,}/{outcome.detected:,}",
            target="all",
            ok=outcome.named == outcome.detected == n,
        ),
        dict(
            figure="false alarms on untouched logs",
            value=f"{outcome.false_alarms} of {outcome.untouched}",
            target="0",
            ok=outcome.false_alarms == 0,
        ),
        dict(figure="fields the verifier covers", value=coverage()),
        dict(
            figure="audit tampers by kind", value=", ".join(f"{name} {count}" for name, count in sorted(groups.items()))
        ),
        dict(
            figure="outside the chain's reach (probed once each, not counted)",
            value="; ".join(
                f"{name}: {'detected' if hit else 'NOT detected'} ({why})" for name, hit, why in outcome.beyond
            ),
        ),
        dict(
            figure="audit tamper run time",
            value=round(total, 1),
            unit="s",
            baseline=f"migrate {outcome.seconds.get('migrate', 0):.1f} s, "
            f"build the log {outcome.seconds['build']:.1f} s, "
            f"one verify_audit of it {1000 * outcome.seconds['untouched'] / max(untouched_first, 1):.0f} ms, "
            f"tampers {outcome.seconds['tampers']:.1f} s ({1000 * outcome.seconds['tampers'] / max(n, 1):.0f} ms each, "
            "verification and rollback included)",
        ),
    ]


def coverage() -> str:
    """Which stored fields a tamper of shows up in verification, read from the model and the walk."""
    from reviewqueue.audit.models import AuditCheckpoint, AuditEvent
    from reviewqueue.audit.verify import COLUMNS

    event = [f.column for f in AuditEvent._meta.concrete_fields]
    checkpoint = [f.column for f in AuditCheckpoint._meta.concrete_fields]
    signed = ["seq", "head_hash", "created_at", "signature", "key_id"]  # the HMAC's message, its tag, the key's name
    return (
        f"event: {len([c for c in event if c in COLUMNS])} of {len(event)} columns in the hash or the link"
        f" (not: {', '.join(c for c in event if c not in COLUMNS) or 'none'}); "
        f"checkpoint: {', '.join(c for c in checkpoint if c in signed)} signed"
        f" (not: {', '.join(c for c in checkpoint if c not in signed) or 'none'}:"
        " a row number verification does not read); "
        "not in the chain at all: the reason search index, the records of past verifications"
    )


def print_details(outcome: Outcome) -> None:
    for kind in sorted(outcome.by_kind):
        counts = outcome.by_kind[kind]
        problems = ", ".join(
            f"{k.removeprefix('problem ')} {v}" for k, v in sorted(counts.items()) if k.startswith("problem")
        )
        print(
            f"  {kind:40s} {counts['detected']:4d}/{counts['run']:<4d} detected,"
            f" {counts['named']:4d} named  ({problems})"
        )
    for kind, expected, detail in outcome.misses[:20]:
        print(f"  MISS {kind}: expected #{expected}: {detail}")


def soak_rows(
    seed: int, workdir: Path, *, tampers: int = 1000, events: int = 3000, untouched: int = UNTOUCHED_VERIFICATIONS
) -> tuple[list[tuple[str, str]], bool]:
    """The tamper figures for bench/soak.py's table, and whether they met their targets. Runs
    bench/audit_tamper.py in a process of its own, so this process's Django (on the soak's database)
    is left alone: its own database beside DATABASE_URL's, or a private PostgreSQL in `workdir` when
    that is unset or its server is down. Its output is kept in workdir/audit_tamper.log."""
    sys.path.insert(0, str(BENCH))
    from _report import parse

    env = {**os.environ}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    argv = [sys.executable, str(BENCH / "audit_tamper.py"), "--tampers", str(tampers), "--seed", str(seed)]
    argv += ["--events", str(events), "--untouched", str(untouched), "--workdir", str(workdir)]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, check=False)
    (Path(workdir) / "audit_tamper.log").write_text(completed.stdout + completed.stderr)
    results = [r for r in map(parse, completed.stdout.splitlines()) if r is not None]
    if completed.returncode not in (0, 1) or not results:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return [("audit tampers", f"FAILED to run (exit {completed.returncode}): {tail[0]}")], False
    rows = [(r["figure"], f"{r['value']}{' ' + r['unit'] if r.get('unit') else ''}") for r in results]
    return rows, all(r.get("ok", True) for r in results) and completed.returncode == 0
