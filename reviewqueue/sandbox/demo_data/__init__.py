"""What `make run`'s demo shows: Fernhill Outdoor's support team on a weekday morning.

Fernhill sells outdoor gear online. Its AI agent drafts email answers to Intercom conversations;
the drafts wait in three gated MultiMail mailboxes (billing, orders, privacy) until a support lead
approves or rejects them. Overnight the agent drafted the answers in PENDING; PAST is the week of
drafts the team already decided. reviewqueue/sandbox/demo.py plays all of it through the sandboxes
and the real services; tests/sandbox/test_demo.py checks that the cases below show as described.

Times are minutes before the seeding (PENDING) or (days ago, "HH:MM" UTC) for the week (PAST).
Addresses use the reserved .example domains.

The data is split along its seams: cast.py (company, mailboxes, reviewers), held.py (PENDING),
past.py (PAST); every name is read from here.
"""

from reviewqueue.sandbox.demo_data.cast import (
    COMPANY,
    DOMAIN,
    LOOKALIKE_DOMAIN,
    MAILBOXES,
    REVIEWERS,
    Mailbox,
    Reviewer,
)
from reviewqueue.sandbox.demo_data.held import PENDING, Attachment, HeldDraft, Said, customer, fin
from reviewqueue.sandbox.demo_data.past import PAST, DecidedDraft

__all__ = [
    "COMPANY",
    "DOMAIN",
    "LOOKALIKE_DOMAIN",
    "MAILBOXES",
    "PAST",
    "PENDING",
    "REVIEWERS",
    "Attachment",
    "DecidedDraft",
    "HeldDraft",
    "Mailbox",
    "Reviewer",
    "Said",
    "customer",
    "fin",
]
