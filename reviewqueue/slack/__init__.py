"""The Slack app: review requests posted to a mailbox's Slack channel, decided from their buttons.

- channels.py: which channel each mailbox posts to (SlackChannel, set with `manage.py slack_channel`).
- messages.py, delivery.py: one message per held draft (chat.postMessage), edited in place once the
  draft is decided (chat.update); each a SlackDelivery row carried out at least once with a lease and
  backoff (reviewqueue/leases.py), queued by review's signals (receivers.py) and re-driven by a sweep.
- views.py, actions.py, reviewers.py: POST /integrations/slack/interactions, verified, answered at once;
  the click is handled by a Celery task as the reviewer the Slack user's verified email maps to,
  deciding through review's draft_decide with origin "slack".
Slack's own shapes and calls live in integrations/slack/; this package imports review, which
integrations/ never does.
"""
