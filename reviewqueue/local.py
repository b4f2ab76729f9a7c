"""`make run`: the whole system on one machine, on the embedded default unless URLs are given.

Migrates, creates demo users (only on the embedded default), then starts the web server, a Celery
worker, Celery beat and the sandboxes as child processes. Ctrl-C (or SIGTERM, or the terminal
closing) stops all of them, and then the embedded PostgreSQL and Redis it started (embedded.py).
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from reviewqueue import embedded
from reviewqueue.sandbox.local import sandbox_processes, seed_slack_channels
from reviewqueue.sandbox.oidc import defaults as oidc_sandbox

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WEB_ADDRESS = os.environ.get("REVIEWQUEUE_ADDRESS", "127.0.0.1:8000")
DEMO_USERS = {"reviewer": "reviewer", "auditor": "auditor", "admin": "admin"}


def processes() -> dict[str, list[str]]:
    """The processes `make run` starts, by name. The sandboxes add theirs in sandbox/local.py."""
    celery = [PYTHON, "-m", "celery", "-A", "reviewqueue"]
    found = {
        "web": [
            PYTHON,
            "-m",
            "gunicorn",
            "reviewqueue.wsgi",
            "--bind",
            WEB_ADDRESS,
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
        ],
        "worker": [*celery, "worker", "--loglevel", "INFO", "--concurrency", "4"],
        "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", str(embedded.VAR_DIR / "celerybeat-schedule")],
    }
    return {**sandbox_processes(PYTHON), **found}


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def prepare_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewqueue.settings")
    os.environ.setdefault("SITE_URL", f"http://{WEB_ADDRESS}")  # where the MultiMail webhooks may point
    if "DATABASE_URL" not in os.environ:
        # The local default: a development server with the sandboxes standing in for the vendors.
        os.environ.setdefault("DEBUG", "1")
        os.environ.setdefault("REVIEWQUEUE_SANDBOX", "1")
        # Mail (digests, escalations) is caught under var/mail and listed at /mail/, never sent.
        os.environ.setdefault("EMAIL_URL", f"file://{(embedded.VAR_DIR / 'mail').resolve()}")
        # The sandbox traffic agent receives its callbacks on 127.0.0.1 over http (reviewqueue/outbound.py).
        os.environ.setdefault("CALLBACK_ALLOW_PRIVATE_NETWORKS", "1")
    import django

    django.setup()  # starts the embedded PostgreSQL and Redis when their URLs are absent
    from django.conf import settings

    if settings.EMBEDDED:
        # Children must reach the same servers without each racing to start them.
        os.environ["DATABASE_URL"] = _database_url(settings.DATABASES["default"])
        os.environ["REDIS_URL"] = settings.REDIS_URL
        os.environ["SECRET_KEY"] = settings.SECRET_KEY
        os.environ["REVIEWQUEUE_EMBEDDED"] = "1"


def _database_url(db: dict) -> str:
    return f"postgres://{db['USER']}@/{db['NAME']}?host={db['HOST']}"


def create_demo_users() -> None:
    for username, role in DEMO_USERS.items():
        env = {**os.environ, "DEMO_PASSWORD": f"{username}-demo-pass"}
        subprocess.run(
            [PYTHON, "manage.py", "grant_role", username, role, "--password-env", "DEMO_PASSWORD"],
            check=True,
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    print("\nDemo users (local default only):")
    for username, role in DEMO_USERS.items():
        print(f"  {role:9} log in as {username!r} with password '{username}-demo-pass'")
    print("  (admins signing in with a password add an authenticator app at their first sign-in)")
    from django.conf import settings

    if settings.OIDC_ISSUER == oidc_sandbox.ISSUER:
        print(f"\nOr 'Sign in with {oidc_sandbox.PROVIDER_NAME}' (the local OIDC provider) as:")
        for name, (_, groups) in oidc_sandbox.DEMO_USERS.items():
            print(f"  {name:9} groups {', '.join(groups):26} password '{oidc_sandbox.demo_password(name)}'")


def seed_demo_intake(var_dir: Path) -> str:
    """On the local default with the sandboxes: routing that sends every draft to the sandbox's demo
    mailbox, and an intake token for the traffic generator, so its drafts arrive through intake as an
    agent's would. Idempotent: the token is kept under var/ and reused while it is valid."""
    from reviewqueue.accounts.models import hash_token
    from reviewqueue.audit.services import Actor
    from reviewqueue.routing.models import IntakeToken, Mailbox, OversightMode, RoutingRuleSet
    from reviewqueue.routing.services import intake_token_issue, ruleset_save
    from reviewqueue.sandbox.multimail import defaults

    actor = Actor.system("make run")
    if not RoutingRuleSet.objects.exists():
        # The sandbox (not started yet) makes its demo mailbox gated_send: mirrored so, the rules are saved
        # against that mode, as intake checks; beat's mailbox sync keeps the mirror true from then on.
        Mailbox.objects.get_or_create(
            mailbox_id=defaults.DEMO_MAILBOX_ID,
            defaults={
                "address": f"{defaults.DEMO_MAILBOX_LOCAL}@{defaults.TENANT_DOMAIN}",
                "oversight_mode": OversightMode.GATED_SEND,
            },
        )
        ruleset_save(rules=[], default_mailbox_id=defaults.DEMO_MAILBOX_ID, actor=actor, note="make run: demo default")
    token_file = var_dir / "traffic-intake-token"
    raw = token_file.read_text().strip() if token_file.exists() else ""
    if not IntakeToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).exists():
        _, raw = intake_token_issue(name="traffic generator (make run)", kinds=["follow_up"], actor=actor)
        var_dir.mkdir(parents=True, exist_ok=True)
        token_file.write_text(raw)
        token_file.chmod(0o600)
    return raw


# What stops `make run`: Ctrl-C, `kill`, and the terminal closing.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_SECONDS = 10


def run_all() -> int:
    stop_requested = []
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, lambda *_: stop_requested.append(True))
    children = {name: spawn(cmd) for name, cmd in processes().items()}
    print(f"\nreviewqueue is up on http://{WEB_ADDRESS}/  (Ctrl-C stops everything)\n", flush=True)
    while not stop_requested:
        exited = [name for name, child in children.items() if child.poll() is not None]
        if exited:
            print(f"{', '.join(exited)} exited; stopping the rest", file=sys.stderr)
            break
        time.sleep(0.5)
    stop_children(list(children.values()))
    return 0


PR_SET_PDEATHSIG = 1  # prctl(2)


def spawn(cmd: list[str]) -> subprocess.Popen:
    """Start one of `make run`'s children.

    Each child leads a process group of its own: Ctrl-C reaches only this process, which stops the
    children in turn, and whatever a child forked (gunicorn's and Celery's workers) goes with it. If
    this process is killed outright (SIGKILL, the OOM killer), nothing stops them in turn: on Linux
    each child asks the kernel for SIGTERM when its parent dies (PR_SET_PDEATHSIG), and stops its own
    workers as on Ctrl-C. Elsewhere they outlive a SIGKILL, as before.
    """
    die_with_parent = _death_signal(os.getpid()) if sys.platform == "linux" else None
    return subprocess.Popen(cmd, cwd=BASE_DIR, process_group=0, preexec_fn=die_with_parent)


def _death_signal(parent_pid: int):
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, before the fork: the child only calls it

    def in_the_child() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the prctl: nobody would send it
            os.kill(os.getpid(), signal.SIGTERM)

    return in_the_child


def stop_children(children: list[subprocess.Popen]) -> None:
    """SIGTERM to each child; after GRACE_SECONDS, SIGKILL to each child's process group: to a child
    still running, and to what one that exited left behind (a gunicorn worker outliving its master)."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def main() -> int:
    prepare_environment()
    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput", "--verbosity", "0")
    if os.environ.get("REVIEWQUEUE_EMBEDDED") == "1":
        from reviewqueue.sandbox.demo import make_run_seed

        make_run_seed()  # first: the demo's past week enters the audit log before anything done today
        create_demo_users()
        from django.conf import settings

        if settings.SANDBOX:
            from reviewqueue.sandbox.traffic_agent import seed_callback

            token = seed_demo_intake(embedded.VAR_DIR)
            seed_slack_channels()  # the demo's mailboxes post their review requests to the Slack sandbox
            os.environ["REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN"] = token
            # The traffic bot hears its drafts' outcomes and answers changes requests with revisions.
            os.environ["REVIEWQUEUE_TRAFFIC_CALLBACK_SECRET"] = seed_callback(token)
    return run_all()


if __name__ == "__main__":
    sys.exit(main())
