"""The Intercom Inbox app: reviewqueue's panel beside a conversation in Intercom's Inbox.

Intercom posts to two URLs (views.py): initialize draws the panel, submit carries out the clicked
action and draws it again. Both are verified (X-Body-Signature) before anything is read. The panel
(panel.py) lists the conversation's held drafts; the teammate is mapped to a reviewer by email
(teammates.py), and decisions go through review's draft_decide with origin "intercom" (actions.py),
with its claims, stale-context guard, four-eyes, outbox and audit. Intercom's own shapes live in
integrations/intercom/canvas.py; this package imports review, which integrations/ never does.
"""
