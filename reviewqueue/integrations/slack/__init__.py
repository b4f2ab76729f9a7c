"""Slack: the Web API client (client.py), request signatures (signature.py), the interaction payloads
(interactions.py) and the Block Kit messages and modal (blocks.py). Never imports review: the app that
decides is reviewqueue/slack.
"""
