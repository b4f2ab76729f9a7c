"""Both sandboxes served on loopback threads, settings pointed at them, and real Celery workers on demand.

For the review core's end-to-end tests and its benchmarks (bench/review_ingest.py,
bench/click_to_note.py): the test process and the worker subprocesses share the test database
and this run's own Redis database; MultiMail and Intercom are the sandboxes, reached over HTTP.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from reviewqueue.sandbox.intercom.app import Knobs as IntercomKnobs
from reviewqueue.sandbox.intercom.app import make_app as make_intercom
from reviewqueue.sandbox.multimail import defaults as mm_defaults
from reviewqueue.sandbox.multimail.app import Knobs as MultiMailKnobs
from reviewqueue.sandbox.multimail.app import make_app as make_multimail
from reviewqueue.sandbox.server import start_in_thread
from tests.livesystem import PYTHON, LiveSystem, Process, database_url, free_port, http_ok, sandbox_keys, wait_for


@dataclass
class Sandboxes:
    """In-thread by default; `processes=True` serves each from its own process (benchmarks: no shared GIL)."""

    processes: bool = False
    workers: list = field(default_factory=list)

    def start(self) -> Sandboxes:
        if self.processes:
            self._start_processes()
        else:
            self.multimail_app = make_multimail(knobs=MultiMailKnobs(delivery_ms=10_000_000), seed_demo=True)
            self.intercom_app = make_intercom(knobs=IntercomKnobs())
            self.multimail_server = start_in_thread(self.multimail_app)
            self.intercom_server = start_in_thread(self.intercom_app)
            self.multimail_port, self.intercom_port = self.multimail_server.port, self.intercom_server.port
        self.multimail_url = f"http://127.0.0.1:{self.multimail_port}"
        self.intercom_url = f"http://127.0.0.1:{self.intercom_port}"
        keys = sandbox_keys()
        self.mm = httpx.Client(base_url=self.multimail_url, timeout=30)
        self.ic = httpx.Client(
            base_url=self.intercom_url,
            timeout=30,
            headers={"Authorization": f"Bearer {keys['INTERCOM_ACCESS_TOKEN']}", "Accept": "application/json"},
        )
        self.send_headers = {"Authorization": f"Bearer {keys['MULTIMAIL_SEND_API_KEY']}"}
        self.admin_headers = {"Authorization": f"Bearer {keys['MULTIMAIL_ADMIN_API_KEY']}"}
        return self

    def _start_processes(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="rq-review-sandboxes-"))
        self.multimail_port, self.intercom_port = free_port(), free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
        multimail = [PYTHON, "-m", "reviewqueue.sandbox.multimail", "--port", str(self.multimail_port)]
        intercom = [PYTHON, "-m", "reviewqueue.sandbox.intercom", "--port", str(self.intercom_port)]
        self.sandbox_processes = [
            Process("multimail", multimail, env, self.workdir / "multimail.log").start(),
            Process("intercom", intercom, env, self.workdir / "intercom.log").start(),
        ]
        for process, url in zip(
            self.sandbox_processes,
            (
                f"http://127.0.0.1:{self.multimail_port}/_sandbox/knobs",
                f"http://127.0.0.1:{self.intercom_port}/healthz",
            ),
            strict=True,
        ):
            wait_for(lambda u=url: http_ok(u), timeout=30, what=process.name, process=process)

    def stop(self) -> None:
        for worker in self.workers:
            worker.cleanup()
        self.workers.clear()
        for client in (self.mm, self.ic):
            client.close()
        if self.processes:
            for process in self.sandbox_processes:
                process.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)
            return
        self.multimail_server.stop()
        self.intercom_server.stop()
        with contextlib.suppress(Exception):
            self.multimail_app.stop()
        with contextlib.suppress(Exception):
            self.intercom_app.close()

    # --- settings for the test process ---------------------------------------------------------
    def settings_overrides(self) -> dict:
        keys = sandbox_keys()
        return {
            "SANDBOX": True,
            "MULTIMAIL_API_URL": self.multimail_url,
            "MULTIMAIL_API_KEY": keys["MULTIMAIL_API_KEY"],
            "MULTIMAIL_SEND_API_KEY": keys["MULTIMAIL_SEND_API_KEY"],
            "MULTIMAIL_ADMIN_API_KEY": keys["MULTIMAIL_ADMIN_API_KEY"],
            "INTERCOM_API_URL": self.intercom_url,
            "INTERCOM_ACCESS_TOKEN": keys["INTERCOM_ACCESS_TOKEN"],
            "INTERCOM_ADMIN_ID": "",
        }

    # --- arranging the world --------------------------------------------------------------------
    def conversation(self, email: str, text: str = "Where is my order?") -> str:
        contact = self._ok(self.ic.post("/contacts", json={"email": email})).json()
        message = self._ok(
            self.ic.post("/conversations", json={"from": {"type": "user", "id": contact["id"]}, "body": text})
        ).json()
        return str(message["conversation_id"])

    def agent_draft(self, to: str, subject: str = "Re: your order", conversation_id: str = "") -> str:
        """An agent's email held in the sandbox's gated mailbox, tagged with its conversation."""
        mailbox = mm_defaults.DEMO_MAILBOX_ID
        body = {"to": [to], "subject": subject, "markdown": "Hello,\n\nit ships today.\n\nAcme Support"}
        email_id = self._ok(self.mm.post(f"/v1/mailboxes/{mailbox}/send", json=body, headers=self.send_headers)).json()[
            "id"
        ]
        if conversation_id:
            path = f"/v1/mailboxes/{mailbox}/emails/{email_id}/tags"
            self._ok(
                self.mm.put(
                    path, json={"tags": {"intercom_conversation_id": conversation_id}}, headers=self.send_headers
                )
            )
        return str(email_id)

    def multimail_knobs(self, **knobs) -> None:
        self._ok(self.mm.post("/_sandbox/knobs", json=knobs))

    def intercom_knobs(self, **knobs) -> None:
        self._ok(self.ic.post("/_sandbox/knobs", json=knobs))

    def email(self, email_id: str) -> dict:
        path = f"/v1/mailboxes/{mm_defaults.DEMO_MAILBOX_ID}/emails/{email_id}"
        return self._ok(self.mm.get(path, headers=self.send_headers)).json()

    def decisions_taken(self, email_id: str) -> int:
        """How many times MultiMail took a decision on the email, from its own audit log."""
        count, cursor = 0, None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self._ok(self.mm.get("/v1/audit-log", params=params, headers=self.admin_headers)).json()
            count += sum(
                1
                for entry in page.get("entries", [])
                if entry["resource_id"] == email_id
                and entry["action"].startswith("oversight.")
                and entry["action"] != "oversight.pending"
            )
            cursor = page.get("cursor")
            if not cursor:
                return count

    def notes(self, conversation_id: str) -> list[dict]:
        conversation = self._ok(self.ic.get(f"/conversations/{conversation_id}")).json()
        parts = conversation.get("conversation_parts", {}).get("conversation_parts", [])
        return [p for p in parts if p.get("part_type") == "note"]

    @staticmethod
    def _ok(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
            )
        return response

    # --- real workers ---------------------------------------------------------------------------
    def worker(self, settings_dict: dict, redis_url: str, *, name: str = "worker", concurrency: int = 4):
        """A `celery -A reviewqueue worker` on the test database and this run's Redis database."""
        system = LiveSystem(
            database_url=database_url(settings_dict),
            redis_url=redis_url,
            multimail_port=self.multimail_port,
            intercom_port=self.intercom_port,
        )
        system.start_worker(name=name, concurrency=concurrency)
        self.workers.append(system)
        return system


@contextlib.contextmanager
def sandboxes_started(settings):
    """Sandboxes started for one test, with Django's `settings` (pytest-django's fixture) pointed at them."""
    running = Sandboxes().start()
    for name, value in running.settings_overrides().items():
        setattr(settings, name, value)
    yield running
    running.stop()
