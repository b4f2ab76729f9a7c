"""Traffic for `make run`: customers write in, a bot drafts follow-ups, customers reply meanwhile.

    python -m reviewqueue.sandbox.traffic [--interval 8] [--max-conversations 40]

Every few seconds a customer writes in (a conversation in the Intercom sandbox), and a bot drafts
a follow-up email for it: through our intake API (POST /api/v1/drafts) when an intake token is
given in REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN, otherwise straight into the MultiMail sandbox's gated
mailbox, tagged with the conversation id. Some customers write again while their draft waits,
which is what the review queue's "conversation changed since written" flag is for. With
REVIEWQUEUE_TRAFFIC_CALLBACK_SECRET too, the bot listens for its token's signed callbacks on
127.0.0.1:--callback-port and answers "changes requested" with a revision (sandbox/traffic_agent.py).

Gentle and bounded: one conversation per interval, at most --max-conversations, then it idles (a
child of `make run` that exits would stop the rest). Errors (a service still starting) are printed
and the next tick tries again. Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import httpx

from reviewqueue.sandbox.intercom import defaults as intercom_defaults
from reviewqueue.sandbox.multimail import defaults as multimail_defaults
from reviewqueue.sandbox.traffic_agent import CALLBACK_PORT, CallbackListener, RevisingAgent, Submitted

CUSTOMERS = [
    ("Dana Reyes", "dana.reyes@example.com"),
    ("Sam Okafor", "sam.okafor@example.org"),
    ("Lena Fischer", "lena.fischer@example.net"),
    ("Priya Nair", "priya.nair@example.com"),
    ("Tomás Silva", "tomas.silva@example.org"),
    ("Mei Chen", "mei.chen@example.net"),
    ("Jonas Berg", "jonas.berg@example.com"),
    ("Ava Thompson", "ava.thompson@example.org"),
]
# (what the customer writes, the subject of the follow-up, what the bot drafts)
TOPICS = [
    (
        "My order #{n} arrived damaged. Can I get a replacement?",
        "Your replacement for order #{n}",
        "Hi {first},\n\nSorry your order #{n} arrived damaged. We've sent a replacement; it ships today "
        "and you'll get tracking by email.\n\nNo need to return the damaged item.\n\nBest,\nSupport",
    ),
    (
        "I was charged twice for invoice {n}.",
        "Refund for the duplicate charge on invoice {n}",
        "Hi {first},\n\nYou're right: invoice {n} was charged twice. We've refunded the duplicate; it "
        "should show on your statement within **5 business days**.\n\nBest,\nSupport",
    ),
    (
        "How do I export my data? I can't find the button.",
        "Exporting your data",
        "Hi {first},\n\nGo to *Settings → Account → Export* and choose CSV or JSON. The export is "
        "emailed to you when ready.\n\nBest,\nSupport",
    ),
    (
        "Can I change the email address on my account to a work one?",
        "Changing your account email",
        "Hi {first},\n\nYes. Under *Settings → Profile* you can change it; we'll send a confirmation "
        "link to the new address.\n\nBest,\nSupport",
    ),
    (
        "The app logs me out every few minutes since the update.",
        "About the log-outs since the update",
        "Hi {first},\n\nThanks for reporting this. A fix is rolling out today; until then, signing out "
        "and back in once clears it.\n\nBest,\nSupport",
    ),
]
FIN_ADMIN_ID = "992"  # the sandbox's Fin (see sandbox/intercom/state.py)
FIN_ANSWER = "<p>Thanks for reaching out! I've passed this to the team, who will follow up by email.</p>"
REPLIES = [
    "Any update on this?",
    "Actually, never mind — I found it. Thanks!",
    "Also, could you send it to my work address instead?",
    "I'd rather have a refund than a replacement.",
    "Thanks! One more question: does this apply to my other order too?",
]


@dataclass
class Config:
    intercom_url: str
    intercom_token: str
    multimail_url: str
    multimail_send_key: str
    mailbox_id: str
    intake_url: str
    intake_token: str
    interval: float
    max_conversations: int
    reply_chance: float
    reply_after: float
    fin_chance: float
    seed: int | None
    callback_port: int = CALLBACK_PORT
    callback_secret: str = ""


@dataclass
class Waiting:
    conversation_id: str
    contact_id: str
    reply_at: float


@dataclass
class Traffic:
    config: Config
    stop: threading.Event = field(default_factory=threading.Event)
    created: int = 0
    waiting: list[Waiting] = field(default_factory=list)

    def __post_init__(self):
        self.rng = random.Random(self.config.seed)
        self.intercom = httpx.Client(
            base_url=self.config.intercom_url,
            headers={"Authorization": f"Bearer {self.config.intercom_token}", "Intercom-Version": "2.14"},
            timeout=10,
        )
        self.multimail = httpx.Client(
            base_url=self.config.multimail_url,
            headers={"Authorization": f"Bearer {self.config.multimail_send_key}"},
            timeout=10,
        )
        self.web = httpx.Client(timeout=15)
        self.contacts: dict[str, str] = {}  # email → Intercom contact id
        self.agent = self._revising_agent()

    def _revising_agent(self) -> RevisingAgent | None:
        if not (self.config.intake_token and self.config.callback_secret):
            return None
        listener = CallbackListener(port=self.config.callback_port, secret=self.config.callback_secret).start()
        return RevisingAgent(listener, self.post_intake)

    def post_intake(self, body: dict) -> httpx.Response:
        return self.web.post(
            self.config.intake_url, headers={"Authorization": f"Bearer {self.config.intake_token}"}, json=body
        )

    def close(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        for client in (self.intercom, self.multimail, self.web):
            client.close()

    # --- one customer, start to draft -----------------------------------------------------------
    def contact_id(self, name: str, email: str) -> str:
        if email in self.contacts:
            return self.contacts[email]
        query = {"query": {"field": "email", "operator": "=", "value": email}}
        found = self.intercom.post("/contacts/search", json=query)
        found.raise_for_status()
        hits = found.json().get("data", [])
        if hits:
            contact_id = hits[0]["id"]
        else:
            created = self.intercom.post("/contacts", json={"email": email, "name": name, "role": "user"})
            created.raise_for_status()
            contact_id = created.json()["id"]
        self.contacts[email] = contact_id
        return contact_id

    def customer_writes_in(self) -> None:
        name, email = self.rng.choice(CUSTOMERS)
        message, subject, draft = self.rng.choice(TOPICS)
        number = self.rng.randint(1000, 9999)
        contact_id = self.contact_id(name, email)
        written = self.intercom.post(
            "/conversations",
            json={"from": {"type": "user", "id": contact_id}, "body": f"<p>{message.format(n=number)}</p>"},
        )
        written.raise_for_status()
        conversation_id = written.json()["conversation_id"]
        self.created += 1
        if self.rng.random() < self.config.fin_chance:  # Fin answers first (an "operator" reply)
            fin = {"message_type": "comment", "type": "admin", "admin_id": FIN_ADMIN_ID, "body": FIN_ANSWER}
            self.intercom.post(f"/conversations/{conversation_id}/reply", json=fin).raise_for_status()
        text = draft.format(n=number, first=name.split()[0])
        how = self.bot_drafts(conversation_id, email, subject.format(n=number), text)
        print(f"traffic: {name} wrote in (conversation {conversation_id}); bot drafted a follow-up {how}", flush=True)
        if self.rng.random() < self.config.reply_chance:
            jitter = self.rng.uniform(0.5, 1.5)
            self.waiting.append(
                Waiting(conversation_id, contact_id, time.monotonic() + self.config.reply_after * jitter)
            )

    def bot_drafts(self, conversation_id: str, email: str, subject: str, markdown: str) -> str:
        if self.config.intake_token:
            response = self.post_intake(
                {
                    "intercom_conversation_id": conversation_id,
                    "to": [email],
                    "subject": subject,
                    "markdown": markdown,
                    "kind": "follow_up",
                }
            )
            response.raise_for_status()
            if self.agent is not None:  # kept to revise it if a reviewer asks for changes
                self.agent.remember(response.json()["id"], Submitted(conversation_id, email, subject, markdown))
            return "through the intake API"
        mailbox = self.config.mailbox_id
        sent = self.multimail.post(
            f"/v1/mailboxes/{mailbox}/send",
            json={
                "to": [email],
                "subject": subject,
                "markdown": markdown,
                "idempotency_key": f"traffic-{conversation_id}",
            },
        )
        sent.raise_for_status()
        email_id = sent.json()["id"]
        tagged = self.multimail.put(
            f"/v1/mailboxes/{mailbox}/emails/{email_id}/tags",
            json={"tags": {"intercom_conversation_id": conversation_id}},
        )
        tagged.raise_for_status()
        return f"straight into MultiMail ({email_id})"

    def customers_reply(self) -> None:
        now = time.monotonic()
        due = [w for w in self.waiting if w.reply_at <= now]
        self.waiting = [w for w in self.waiting if w.reply_at > now]
        for waiting in due:
            body = {
                "message_type": "comment",
                "type": "user",
                "intercom_user_id": waiting.contact_id,
                "body": self.rng.choice(REPLIES),
            }
            self.intercom.post(f"/conversations/{waiting.conversation_id}/reply", json=body).raise_for_status()
            print(f"traffic: the customer wrote again in conversation {waiting.conversation_id}", flush=True)

    # --- the loop --------------------------------------------------------------------------------
    def tick(self) -> None:
        try:
            if self.agent is not None:
                self.agent.answer()
            self.customers_reply()
            if self.created < self.config.max_conversations:
                self.customer_writes_in()
        except httpx.HTTPStatusError as error:
            detail = error.response.text[:200].replace("\n", " ")
            print(f"traffic: {error.request.method} {error.request.url} -> {error.response.status_code}: {detail}")
        except httpx.HTTPError as error:  # a service still starting, or restarting: try again next tick
            print(f"traffic: {type(error).__name__} talking to {getattr(error, 'request', None) and error.request.url}")

    def run(self) -> None:
        announced = False
        while not self.stop.is_set():
            self.tick()
            if self.created >= self.config.max_conversations and not self.waiting and not announced:
                print(f"traffic: {self.created} conversations written; idling (Ctrl-C stops)", flush=True)
                announced = True
            self.stop.wait(self.config.interval * self.rng.uniform(0.7, 1.3))


def _positive(kind):
    def parse(value: str):
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError("must be greater than 0")
        return number

    return parse


def parse_config(argv=None) -> Config:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m reviewqueue.sandbox.traffic", description=__doc__.split("\n")[0])
    parser.add_argument("--intercom-url", default=env.get("INTERCOM_API_URL") or intercom_defaults.API_URL)
    parser.add_argument("--multimail-url", default=env.get("MULTIMAIL_API_URL") or multimail_defaults.API_URL)
    parser.add_argument("--mailbox", default=multimail_defaults.DEMO_MAILBOX_ID, help="MultiMail mailbox id")
    parser.add_argument("--intake-url", default="http://127.0.0.1:8000/api/v1/drafts")
    parser.add_argument("--interval", type=_positive(float), default=8.0, help="seconds between new customers")
    parser.add_argument("--max-conversations", type=_positive(int), default=40)
    parser.add_argument("--reply-chance", type=float, default=0.35, help="chance a customer writes again")
    parser.add_argument("--reply-after", type=_positive(float), default=20.0, help="seconds before they do")
    parser.add_argument("--fin-chance", type=float, default=0.3, help="chance Fin answers the customer first")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--callback-port", type=_positive(int), default=CALLBACK_PORT, help="the bot's callback port")
    args = parser.parse_args(argv)
    if not 0 <= args.reply_chance <= 1 or not 0 <= args.fin_chance <= 1:
        parser.error("--reply-chance and --fin-chance must be between 0 and 1")
    return Config(
        intercom_url=args.intercom_url,
        intercom_token=env.get("INTERCOM_ACCESS_TOKEN") or intercom_defaults.ACCESS_TOKEN,
        multimail_url=args.multimail_url,
        multimail_send_key=env.get("MULTIMAIL_SEND_API_KEY") or multimail_defaults.SEND_KEY,
        mailbox_id=args.mailbox,
        intake_url=args.intake_url,
        intake_token=env.get("REVIEWQUEUE_TRAFFIC_INTAKE_TOKEN", ""),
        interval=args.interval,
        max_conversations=args.max_conversations,
        reply_chance=args.reply_chance,
        reply_after=args.reply_after,
        fin_chance=args.fin_chance,
        seed=args.seed,
        callback_port=args.callback_port,
        callback_secret=env.get("REVIEWQUEUE_TRAFFIC_CALLBACK_SECRET", ""),
    )


def main(argv=None) -> int:
    config = parse_config(argv)
    traffic = Traffic(config)
    signal.signal(signal.SIGTERM, lambda *_: traffic.stop.set())
    via = "the intake API" if config.intake_token else f"MultiMail mailbox {config.mailbox_id}"
    print(f"traffic: a customer every ~{config.interval:g}s, drafts via {via}", flush=True)
    if traffic.agent is not None:
        print(f"traffic: the bot listens for callbacks on 127.0.0.1:{config.callback_port}", flush=True)
    try:
        traffic.run()
    except KeyboardInterrupt:
        pass
    finally:
        traffic.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
