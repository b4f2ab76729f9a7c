"""The Slack sandbox's fixed local credentials (settings uses them when REVIEWQUEUE_SANDBOX is on).

Not secrets: they only ever open the sandbox on loopback. Real values in the environment win.
"""

PORT = 8029
API_URL = f"http://127.0.0.1:{PORT}/api"
BOT_TOKEN = "xoxb-sandbox-slack-bot-token"
SIGNING_SECRET = "sandbox-slack-signing-secret"
CHANNEL = "C0REVIEWS"  # the channel `make run` points the demo's mailboxes at
CHANNEL_NAME = "reviews"
