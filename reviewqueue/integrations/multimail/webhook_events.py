"""The events a MultiMail webhook subscription can ask for (contracts/multimail-notes.md,
"Webhooks"); the one place they are written, for our subscriptions and for the sandbox's."""

WEBHOOK_EVENTS = (
    "message.received",
    "message.sent",
    "message.delivered",
    "message.bounced",
    "message.complained",
    "oversight.pending",
    "oversight.approved",
    "oversight.rejected",
)
