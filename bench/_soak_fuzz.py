"""The API fuzz of the soak's table: schemathesis against every operation of /api/v1/openapi.json.

    rows, ok = soak_rows(seed, workdir)      # bench/soak.py, after its own run (its system stopped);
                                             # logs in workdir/api-fuzz/
    .venv/bin/python bench/api_fuzz.py --seed 7 --max-examples 200    # on its own

Self-contained: its own database (DATABASE_URL's name + "_fuzz_<pid>", made and dropped; or a
private PostgreSQL in `workdir` when DATABASE_URL is unset), its own Redis (a private redis-server,
else REDIS_URL), the MultiMail sandbox (intake sends there) and gunicorn (2 processes) on free
loopback ports. No Celery worker: every operation answers without one (what the API queues stays
queued and is dropped with the private Redis). Real credentials: a reviewer's personal token, an
intake token, and a dozen real drafts (through intake) for the {id} operations to find.

Each operation is fuzzed from the document served by the live server: schemathesis' positive cases
(valid by the schema), negative ones (not), and for {id} operations positive cases on the real
drafts. Each case carries the right token most of the time, else a wrong one, the other kind of
token or none. Hypothesis is seeded (the same seed sends the same cases against the same state)
and bounded (`max_examples` per operation and kind). Counted: cases, answers by status class, 5xx
(must be 0: each is a product bug; so must requests the server dropped), and schema mismatches
(status code, content type or body not as documented). The document has no webhook receivers
(/webhooks/* are outside /api/v1), so no signed operation is fuzzed here.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
for _path in (str(BASE_DIR), str(BASE_DIR / "bench")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

DEFAULT_EXAMPLES = 250  # per operation and kind of case: a few thousand cases in all
REAL_DRAFTS = 12
# Who a case is sent as: mostly the operation's own token; the rest probe authentication.
AUTH_CHOICES = ("right",) * 7 + ("wrong", "other kind", "none")


@dataclass
class FuzzCounts:
    operations: list[str] = field(default_factory=list)
    cases: int = 0
    classes: collections.Counter = field(default_factory=collections.Counter)  # "2xx" -> count
    server_errors: list[str] = field(default_factory=list)  # one line each: operation, status, request
    mismatches: collections.Counter = field(default_factory=collections.Counter)  # (operation, check) -> cases
    mismatch_examples: list[str] = field(default_factory=list)
    unsendable: int = 0
    transport_errors: collections.Counter = field(default_factory=collections.Counter)
    seconds: float = 0.0


def soak_rows(seed: int, workdir: Path, max_examples: int = DEFAULT_EXAMPLES) -> tuple[list[tuple[str, str]], bool]:
    """The fuzz's rows (figure, value) for the soak's table, and whether it found no 5xx."""
    started = time.monotonic()
    try:
        with fuzz_system(Path(workdir)) as (web_url, tokens, draft_ids):
            counts = fuzz(web_url, tokens, draft_ids, seed=seed, max_examples=max_examples)
    except Exception as error:  # the soak's table still gets a row saying why there is no figure
        return [("API fuzz (schemathesis)", f"did not run: {type(error).__name__}: {str(error)[:300]}")], False
    counts.seconds = time.monotonic() - started
    return rows(counts, seed), ok(counts)


def ok(counts: FuzzCounts) -> bool:
    return bool(counts.operations) and counts.cases > 0 and not counts.server_errors and not counts.transport_errors


def rows(counts: FuzzCounts, seed: int) -> list[tuple[str, str]]:
    classes = counts.classes
    mismatched = sum(counts.mismatches.values())
    mismatch_text = str(mismatched)
    if mismatched:
        mismatch_text += " (" + "; ".join(f"{op} {check}: {n}" for (op, check), n in counts.mismatches.items()) + ")"
    errors = str(len(counts.server_errors))
    if counts.server_errors:
        errors += " (first: " + counts.server_errors[0][:200] + ")"
    out = [
        ("API fuzz: operations fuzzed", f"{len(counts.operations)} ({', '.join(counts.operations)})"),
        ("API fuzz: cases sent", f"{counts.cases:,}"),
        ("API fuzz: responses 2xx / 4xx / 5xx", f"{classes['2xx']:,} / {classes['4xx']:,} / {classes['5xx']:,}"),
        ("API fuzz: 5xx (must be 0)", errors),
        ("API fuzz: schema mismatches (status, content type, body)", mismatch_text),
        ("API fuzz: seed", str(seed)),
        ("API fuzz: time", f"{counts.seconds:.0f} s"),
    ]
    if counts.transport_errors:  # a dropped connection is worse than a 5xx: it fails the run too
        out.append(("API fuzz: requests without an answer (must be 0)", str(sum(counts.transport_errors.values()))))
    if counts.unsendable:
        out.append(("API fuzz: generated cases the HTTP client would not send", str(counts.unsendable)))
    return out


# --- the system under fuzz ------------------------------------------------------------------------


@contextlib.contextmanager
def fuzz_system(workdir: Path):
    """(web URL, {"personal": …, "intake": …}, real draft ids) of a live server on a database of its own."""
    from _db import bench_database_url, drop_database, recreate_database

    from tests.livesystem import PYTHON, LiveSystem, PrivatePostgres, PrivateRedis

    workdir = workdir / "api-fuzz"  # beside the caller's own logs and data, never among them
    workdir.mkdir(parents=True, exist_ok=True)
    postgres = redis = system = None
    database_url = None
    try:
        if os.environ.get("DATABASE_URL"):
            database_url = bench_database_url(f"_fuzz_{os.getpid()}")  # two runs at once never share one
            try:
                recreate_database(database_url)
            except Exception as error:  # e.g. the soak's private PostgreSQL, stopped by now
                print(f"api fuzz: {database_url} unreachable ({error}); a private PostgreSQL instead", file=sys.stderr)
                database_url = None
        if database_url is None:
            postgres = PrivatePostgres(workdir, database="reviewqueue_fuzz").start()
        if shutil.which("redis-server") or not os.environ.get("REDIS_URL"):
            redis = PrivateRedis(workdir).start()
        system = LiveSystem(
            database_url=database_url or postgres.url,
            redis_url=redis.url if redis else os.environ["REDIS_URL"],
            workdir=workdir,
            extra_env={"LOG_LEVEL": "WARNING"},
        )
        env = system.env()
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True)
        system.start_multimail()
        provisioned = subprocess.run(
            [PYTHON, __file__, "provision", system.multimail_url],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
        )
        if provisioned.returncode:
            raise RuntimeError(f"provisioning failed: {provisioned.stderr.decode(errors='replace')[-1500:]}")
        tokens = json.loads(provisioned.stdout.decode().strip().splitlines()[-1])
        system.start_web(workers=2, threads=4)
        yield system.web_url, tokens, real_drafts(system.web_url, tokens["intake"])
    finally:
        if system is not None:
            (workdir / "fuzz-logs.txt").write_text(system.logs())
            system.stop()
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()
        if database_url is not None:
            drop_database(database_url)


def real_drafts(web_url: str, intake_token: str) -> list[int]:
    import httpx

    ids = []
    with httpx.Client(base_url=f"{web_url}/api/v1", headers={"Authorization": f"Bearer {intake_token}"}) as api:
        for number in range(REAL_DRAFTS):
            body = {
                "intercom_conversation_id": str(1000 + number),
                "to": [f"fuzz{number}@customer.example"],
                "subject": f"Re: order {number}",
                "markdown": f"Hello,\n\nyour order {number} ships today.\n\nAcme Support",
            }
            answer = api.post("/drafts", json=body, timeout=30)
            if answer.status_code not in (200, 202):
                raise RuntimeError(f"intake refused a real draft: {answer.status_code} {answer.text[:300]}")
            ids.append(answer.json()["id"])
    return ids


def provision(multimail_url: str) -> dict[str, str]:
    """In a process of its own (the caller may have Django on another database): mailboxes, the
    default rule, a reviewer with a personal token, an intake token."""
    import scale

    scale.django_on(os.environ["DATABASE_URL"], os.environ["REDIS_URL"], os.environ["SECRET_KEY"], multimail_url)
    personal, intake = scale.setup_people_and_rules(multimail_url)
    return {"personal": personal, "intake": intake}


# --- the fuzz -------------------------------------------------------------------------------------


def fuzz(web_url: str, tokens: dict[str, str], draft_ids: list[int], *, seed: int, max_examples: int) -> FuzzCounts:
    import hypothesis
    import requests
    import schemathesis

    counts = FuzzCounts()
    started = time.monotonic()
    # The document as the server serves it. Loaded as a dict, not from its URL: from a URL schemathesis
    # leaves out the operation that served it (GET /openapi.json), and that one is ours too.
    document = requests.get(f"{web_url}/api/v1/openapi.json", timeout=30)
    document.raise_for_status()
    schema = schemathesis.openapi.from_dict(document.json())
    target = (f"{web_url}/api/v1", requests.Session())  # where cases go, over one kept-alive session
    for number, result in enumerate(schema.get_all_operations()):
        operation = result.ok()
        counts.operations.append(operation.label)
        for kind, strategy in strategies(operation, draft_ids):
            before, begun = counts.cases, time.monotonic()
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):  # GET /openapi.json: no negative cases
                run_one(operation, strategy, tokens, target, counts, seed=seed + number, max_examples=max_examples)
            took = time.monotonic() - begun
            print(
                f"  {operation.label} {kind}: {counts.cases - before} cases, {took:.1f} s", file=sys.stderr, flush=True
            )
    counts.seconds = time.monotonic() - started
    return counts


def strategies(operation, draft_ids: list[int]):
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    yield "positive", operation.as_strategy(GenerationMode.POSITIVE)
    yield "negative", operation.as_strategy(GenerationMode.NEGATIVE)
    if "{id}" in operation.path and draft_ids:
        real = st.sampled_from(draft_ids).flatmap(lambda i: operation.as_strategy(path_parameters={"id": i}))
        yield "real drafts", real


def run_one(operation, strategy, tokens, target, counts: FuzzCounts, *, seed: int, max_examples: int) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    own = "intake" if operation.method.upper() == "POST" and operation.path == "/drafts" else "personal"
    other = "personal" if own == "intake" else "intake"
    headers_for = {
        "right": {"Authorization": f"Bearer {tokens[own]}"},
        "other kind": {"Authorization": f"Bearer {tokens[other]}"},
        "wrong": {"Authorization": f"Bearer {tokens[own][:-4]}xxxx"},
        "none": {},
    }

    @hypothesis_seed(seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=False,
        print_blob=False,
    )
    @given(case=strategy, auth=st.sampled_from(AUTH_CHOICES))
    def send(case, auth):
        send_case(operation, case, headers_for[auth], target, counts)

    send()


def send_case(operation, case, headers: dict, target, counts: FuzzCounts) -> None:
    import requests
    import schemathesis

    try:
        base_url, session = target
        response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
    except (requests.ConnectionError, requests.Timeout) as error:  # sent, and the server never answered
        counts.cases += 1
        counts.transport_errors[f"{operation.label} {type(error).__name__}"] += 1
        print(f"  no answer: {operation.label}: {error!r}"[:400], file=sys.stderr, flush=True)
        return
    except (requests.RequestException, schemathesis.errors.SchemathesisError):
        counts.unsendable += 1  # the client refused to send it (a header value HTTP cannot carry, …)
        return
    counts.cases += 1
    status = response.status_code
    counts.classes[f"{status // 100}xx"] += 1
    if status >= 500:
        request = response.request
        body = (request.body or b"")[:200] if isinstance(request.body, bytes) else str(request.body or "")[:200]
        counts.server_errors.append(f"{operation.label} {status}: {request.method} {request.url[:300]} {body!r}")
        print(f"  5xx: {counts.server_errors[-1]}", file=sys.stderr, flush=True)
        return
    try:
        case.validate_response(response, checks=conformance_checks(), headers=headers)
    except schemathesis.errors.FailureGroup as group:
        for check in sorted({type(failure).__name__ for failure in group.exceptions}):
            counts.mismatches[(operation.label, check)] += 1
        if len(counts.mismatch_examples) < 20:
            text = str(group)
            curl = text[text.find("curl ") :].splitlines()[0][:400] if "curl " in text else ""
            counts.mismatch_examples.append(f"{operation.label} {status}: {text[:600]}\n    {curl}")
            print(f"  mismatch: {counts.mismatch_examples[-1]}", file=sys.stderr, flush=True)


def conformance_checks():
    import schemathesis

    return [
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
        schemathesis.checks.response_schema_conformance,
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["provision"]:
    print(json.dumps(provision(sys.argv[2])), flush=True)
