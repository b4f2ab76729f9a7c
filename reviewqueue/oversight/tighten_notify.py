"""Telling a mailbox's escalation channels (sla's policy: Slack webhook, notify e-mails) that spot checks
tightened it. Best effort, once: the tighten is already done and audited; a channel that fails is logged
and named in the audit event as not told."""

import logging
import smtplib

import httpx
from django.core.mail import send_mail

from reviewqueue.outbound import OutboundURLRefused, outbound_client, send_checked
from reviewqueue.sla.policy import policy_of, slack_webhook_url

logger = logging.getLogger(__name__)
SLACK_TIMEOUT = 5.0


def tighten_message(mailbox_id: str, window: dict) -> str:
    reasons = window.get("safety_or_policy_reasons") or []
    why = f"; safety or policy reasons: {', '.join(reasons)}" if reasons else ""
    threshold = float(window["threshold"])
    return (
        f"reviewqueue tightened {mailbox_id} back to gated_send: {window['would_reject']} of the last "
        f"{window['checks']} spot checks would reject ({window['share']:.0%}; threshold {threshold:.0%})"
        f"{why}. Every email now waits for a person again."
    )


def escalation_channels_tell(mailbox_id: str, window: dict) -> dict[str, str]:
    """{channel: "told" | why not} for each channel the mailbox's policy names ({} when none)."""
    policy, text, outcome = policy_of(mailbox_id), tighten_message(mailbox_id, window), {}
    if policy.notify_emails:
        try:
            send_mail(f"{mailbox_id} tightened to gated_send", text, None, list(policy.notify_emails))
            outcome["email"] = "told"
        except (smtplib.SMTPException, OSError) as error:
            outcome["email"] = f"failed: {type(error).__name__}"
    url = slack_webhook_url(policy)
    if url:
        outcome["slack"] = _slack_tell(url, text)
    for channel, result in outcome.items():
        if result != "told":
            logger.warning("oversight: telling %s about tightening %s %s", channel, mailbox_id, result)
    return outcome


def _slack_tell(url: str, text: str) -> str:
    with outbound_client(timeout=SLACK_TIMEOUT) as client:
        try:
            response = send_checked(client, client.build_request("POST", url, json={"text": text}))
        except (OutboundURLRefused, httpx.HTTPError) as error:
            return f"failed: {type(error).__name__}"
    return "told" if response.status_code < 300 else f"failed: Slack answered {response.status_code}"
