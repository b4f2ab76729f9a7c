"""The sandbox processes `make run` starts beside the app (see reviewqueue/local.py).

They run only on the local default (REVIEWQUEUE_SANDBOX on); their state lives under var/sandbox/
so it survives a sandbox restart while `make run` is up.
"""

import os

from reviewqueue.embedded import VAR_DIR
from reviewqueue.sandbox.intercom import defaults as intercom
from reviewqueue.sandbox.multimail import defaults as multimail
from reviewqueue.sandbox.oidc import defaults as oidc
from reviewqueue.sandbox.slack import defaults as slack

STATE_DIR = VAR_DIR / "sandbox"
WEB_URL = "http://" + os.environ.get("REVIEWQUEUE_ADDRESS", "127.0.0.1:8000")


def sandbox_processes(python: str) -> dict[str, list[str]]:
    from django.conf import settings

    if not settings.SANDBOX:
        return {}
    processes = {}
    if settings.MULTIMAIL_API_URL == multimail.API_URL:  # real MultiMail configured: no sandbox for it
        processes["multimail-sandbox"] = [
            python,
            "-m",
            "reviewqueue.sandbox.multimail",
            "--port",
            str(multimail.PORT),
            "--state",
            str(STATE_DIR / "multimail.json"),
            "--webhook-url",
            f"{WEB_URL}/webhooks/multimail",
        ]
    if settings.INTERCOM_API_URL == intercom.API_URL:  # real Intercom configured: no sandbox for it
        processes["intercom-sandbox"] = [
            python,
            "-m",
            "reviewqueue.sandbox.intercom",
            "--port",
            str(intercom.PORT),
            "--state",
            str(STATE_DIR / "intercom.json"),
            "--webhook-url",
            f"{WEB_URL}/webhooks/intercom",
            "--inbox-app-url",  # each conversation's page shows reviewqueue's Inbox app (inbox/)
            f"{WEB_URL}/integrations/intercom/canvas",
        ]
    if settings.SLACK_API_URL == slack.API_URL:  # a real Slack configured: no sandbox for it
        processes["slack-sandbox"] = [
            python,
            "-m",
            "reviewqueue.sandbox.slack",
            "--port",
            str(slack.PORT),
            "--state",
            str(STATE_DIR / "slack.json"),
            "--interactions-url",
            f"{WEB_URL}/integrations/slack/interactions",
        ]
    if "multimail-sandbox" in processes and "intercom-sandbox" in processes:  # traffic needs both vendors local
        # Gently: a newcomer sees drafts arrive, and the demo's morning (sandbox/demo.py) stays its size.
        traffic = ["--interval", "90", "--max-conversations", "6", "--intake-url", f"{WEB_URL}/api/v1/drafts"]
        processes["traffic"] = [python, "-m", "reviewqueue.sandbox.traffic", *traffic]
    if settings.OIDC_ISSUER == oidc.ISSUER:  # a real identity provider configured: no sandbox for it
        processes["oidc-sandbox"] = [
            python,
            "-m",
            "reviewqueue.sandbox.oidc",
            "--port",
            str(oidc.PORT),
            "--state-dir",
            str(STATE_DIR / "oidc"),
            "--redirect-uri",
            f"{WEB_URL}/accounts/oidc/callback/",
            # The same app opened as localhost: the callback is built from the address in the browser.
            "--redirect-uri",
            f"{WEB_URL.replace('://127.0.0.1:', '://localhost:')}/accounts/oidc/callback/",
        ]
    return processes


def seed_slack_channels() -> None:
    """With the Slack sandbox: every mailbox without a Slack channel posts its review requests to the
    sandbox's #reviews, so `make run` shows them there. A channel set since is left as it is."""
    from django.conf import settings

    from reviewqueue.audit.services import Actor
    from reviewqueue.routing.models import Mailbox
    from reviewqueue.slack.channels import channel_of, slack_channel_set

    if not settings.SANDBOX or settings.SLACK_API_URL != slack.API_URL:
        return
    for mailbox_id in Mailbox.objects.values_list("mailbox_id", flat=True):
        if not channel_of(mailbox_id):
            slack_channel_set(mailbox_id=mailbox_id, channel=slack.CHANNEL, actor=Actor.system("make run"))
