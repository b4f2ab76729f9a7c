"""The MultiMail sandbox's fixed local credentials (no imports: settings.py reads these).

They only ever open the sandbox on 127.0.0.1; settings use them only when REVIEWQUEUE_SANDBOX is on
and the environment gives no real key. Each key's scopes follow MultiMail's rule: none holds both
send and oversight.
"""

PORT = 8025
API_URL = f"http://127.0.0.1:{PORT}"
OVERSIGHT_KEY = "mm_live_sandbox_oversight_local_only"
SEND_KEY = "mm_live_sandbox_send_local_only"
ADMIN_KEY = "mm_live_sandbox_admin_local_only"
READ_KEY = "mm_live_sandbox_read_local_only"
WEBHOOK_SECRET = "whsec_sandbox_local_only_not_a_secret"

# key → (key id, name, scopes)
KEYS = {
    OVERSIGHT_KEY: ("key_sandbox_oversight", "reviewqueue oversight", ["oversight", "read"]),
    SEND_KEY: ("key_sandbox_send", "reviewqueue send", ["send", "read"]),
    ADMIN_KEY: ("key_sandbox_admin", "reviewqueue admin", ["admin", "read"]),
    READ_KEY: ("key_sandbox_read", "read only", ["read"]),
}

DEMO_MAILBOX_ID = "mb_sandbox_support"
DEMO_MAILBOX_LOCAL = "support"
TENANT_DOMAIN = "sandbox.multimail.dev"
