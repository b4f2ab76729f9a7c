"""The Intercom Inbox app: reviewqueue's panel beside a conversation in Intercom's Inbox.

Intercom posts to two URLs (views.py): initialize draws the panel, submit carries out the clicked
action and draws it again. Both are verified (X-Body-Signature) before anything is read. The panel
(panel.py) lists the conversation's held drafts. The teammate is the person an admin mapped their
Intercom admin id to on the person's page (models.py, services.py, admin_views.py), else the active
person with their email (teammates.py). Decisions go through review's draft_decide with origin
"intercom" (actions.py), with its claims, stale-context guard, four-eyes, outbox and audit.
Intercom's own shapes live in integrations/intercom/canvas.py; this package imports review, which
integrations/ never does.
"""
