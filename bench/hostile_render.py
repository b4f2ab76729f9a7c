"""The hostile-content corpus rendered in Chromium: how many entries and pages, and that no script ran
and no request left the page (issue 23; the soak's table has the same rows, from bench/_soak_hostile.py).

    .venv/bin/python bench/hostile_render.py              # every entry of tests/review/hostile_corpus.py
    .venv/bin/python bench/hostile_render.py --quick      # the first 40 entries
    .venv/bin/python bench/hostile_render.py --entries 12 --seed 7

Needs DATABASE_URL and REDIS_URL like the other benches when they answer (it makes its own database
beside DATABASE_URL and drops it); without them it starts a private PostgreSQL and Redis. Chromium is
/usr/bin/chromium (CHROMIUM_PATH to change it). Exit 1 when a script ran or a request left the page.
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _soak_hostile
from _report import report

QUICK_ENTRIES = 40


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only the first {QUICK_ENTRIES} entries")
    parser.add_argument("--entries", type=int, help="only the first N entries of the corpus")
    parser.add_argument("--seed", type=int, default=23, help="which entries share a draft (default 23)")
    parser.add_argument("--per-draft", type=int, default=_soak_hostile.ENTRIES_PER_DRAFT, help="entries a draft")
    args = parser.parse_args(argv)
    limit = args.entries or (QUICK_ENTRIES if args.quick else None)
    if (limit is not None and limit < 1) or args.per_draft < 1:
        parser.error("--entries and --per-draft must be at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="rq-hostile-"))
    figures = _soak_hostile.render(args.seed, workdir, limit=limit, per_draft=args.per_draft)
    rows, ok = _soak_hostile.rows_of(figures)

    width = max(len(figure) for figure, _ in rows)
    print(f"hostile corpus in Chromium, seed {args.seed}, {figures['seconds']:.0f} s ({', '.join(figures['notes'])})")
    for figure, value in rows:
        print(f"  {figure:<{width}}  {value}")
    for name in ("scripts", "dialogs", "leaving", "unexpected_same_origin", "not_shown", "csp", "page_errors"):
        for example in figures[name][:5]:
            print(f"  {name}: {example}")

    conditions = f"{figures['drafts']} drafts, seed {args.seed}"
    report("hostile corpus entries rendered in Chromium", figures["entries"], target=">= 200", baseline=conditions)
    report("hostile corpus: pages rendered", figures["pages"], baseline=rows[1][1])
    for name, figure in (
        ("scripts", "hostile corpus: scripts run"),
        ("dialogs", "hostile corpus: dialogs opened"),
        ("leaving", "hostile corpus: requests leaving the page"),
        ("unexpected_same_origin", "hostile corpus: same-origin requests the page would not make"),
        ("not_shown", "hostile corpus: pages not shown (not a 200, or no detector)"),
    ):
        report(figure, len(figures[name]), target="0", ok=not figures[name])
    report("hostile corpus: CSP violations reported", len(figures["csp"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
