"""The Intercom sandbox's fixed local credentials (settings uses them when REVIEWQUEUE_SANDBOX is on).

Not secrets: they only ever open the sandbox on loopback. Real values in the environment win.
"""

PORT = 8026
API_URL = f"http://127.0.0.1:{PORT}"
ACCESS_TOKEN = "sandbox-intercom-access-token"
CLIENT_SECRET = "sandbox-intercom-client-secret"
APP_ID = "sandboxapp"
ADMIN_ID = "991"
# The Intercom-Version values Intercom knows (contracts/intercom-openapi-2.14.yaml, intercom_version).
API_VERSIONS = frozenset({"1.0", "1.1", "1.2", "1.3", "1.4", *(f"2.{minor}" for minor in range(15))})
