"""Random tampers of the audit log judged by verify_audit: all detected, the first bad event named, no false alarms.

    .venv/bin/python bench/audit_tamper.py                      # 1,000 tampers of a 3,000-event log
    .venv/bin/python bench/audit_tamper.py --quick              # 200 tampers of 1,000 events
    .venv/bin/python bench/audit_tamper.py --tampers 50 --events 400 --seed 7

Makes its own database beside DATABASE_URL's (<name>_tamper, dropped at the end unless --keep; with
DATABASE_URL unset, or its server not answering when --workdir is given, a private PostgreSQL in
--workdir), migrates it, builds a log through the real append API with signed checkpoints, then
runs the seeded tampers (bench/_soak_tamper.py says which, and how each is judged). bench/soak.py
puts the same figures in its table (_soak_tamper.soak_rows).
Exit 0 when every tamper was detected and named and no untouched log raised an alarm.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

import _soak_tamper as tamper  # noqa: E402
from _db import bench_database_url, drop_database, recreate_database  # noqa: E402
from _report import report  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tampers", type=int, default=1000, help="tampers to run (default 1,000)")
    parser.add_argument("--seed", type=int, default=20261207, help="the same seed replays the same tampers")
    parser.add_argument("--events", type=int, default=3000, help="events in the log (default 3,000)")
    parser.add_argument(
        "--untouched",
        type=int,
        default=tamper.UNTOUCHED_VERIFICATIONS,
        help="verifications of the untouched log before the tampers",
    )
    parser.add_argument("--quick", action="store_true", help="200 tampers of a 1,000-event log, for a first look")
    parser.add_argument("--workdir", help="where a private PostgreSQL lives when DATABASE_URL is unset")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args(argv)
    if args.quick:
        args.tampers, args.events = 200, 1000
    if args.events < 200:
        parser.error("--events must be at least 200 (a few checkpoints and an unsigned tail)")
    print(f"audit tampers: {args.tampers} over {args.events} events, seed {args.seed}", flush=True)

    private = None
    try:
        if not os.environ.get("DATABASE_URL"):
            raise ConnectionError("DATABASE_URL is unset")
        url = bench_database_url("_tamper")
        recreate_database(url)
    except Exception as error:  # no server there (the soak may have stopped its own): one of our own
        if not (args.workdir or isinstance(error, ConnectionError)):
            raise
        print(f"  {error}: a private PostgreSQL instead", flush=True)
        from tests.livesystem import PrivatePostgres

        folder = Path(args.workdir or tempfile.mkdtemp(prefix="rq-tamper-")) / "tamper_pg"
        folder.mkdir(parents=True, exist_ok=True)
        private = PrivatePostgres(folder, "reviewqueue").start()
        os.environ["DATABASE_URL"] = private.url
        url = bench_database_url("_tamper")
        recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789abcdef")
    os.environ["DATABASE_CONN_MAX_AGE"] = "0"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "reviewqueue.settings"
    try:
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrated = time.perf_counter() - started
        outcome = tamper.run(tampers=args.tampers, seed=args.seed, events=args.events, untouched=args.untouched)
        outcome.seconds["migrate"] = migrated
        tamper.print_details(outcome)
        for figure in tamper.figures(outcome):
            report(**figure)
        return 0 if outcome.ok else 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(url)
        if private is not None:
            private.stop()


if __name__ == "__main__":
    sys.exit(main())
