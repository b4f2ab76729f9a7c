"""The OIDC provider sandbox's fixed local values (settings uses them when REVIEWQUEUE_SANDBOX is on).

Not secrets: they only ever open the sandbox on loopback. Real values in the environment win.
"""

PORT = 8027
ISSUER = f"http://127.0.0.1:{PORT}/o"
CLIENT_ID = "reviewqueue-sandbox"
CLIENT_SECRET = "sandbox-oidc-client-secret-local-only"
PROVIDER_NAME = "Fernhill ID (sandbox)"
# The groups the demo people belong to at the provider, and the roles they map to here.
ROLE_MAP = "rq-reviewers=reviewer,rq-auditors=auditor,rq-admins=admin"
# username: (email, groups). Each signs in at the sandbox with the password "<username>-demo-pass".
DEMO_USERS = {
    "riley": ("riley@fernhill.example", ["rq-reviewers"]),
    "avery": ("avery@fernhill.example", ["rq-auditors"]),
    "morgan": ("morgan@fernhill.example", ["rq-admins"]),
    "casey": ("casey@fernhill.example", ["rq-reviewers", "rq-auditors"]),
    "jordan": ("jordan@fernhill.example", ["warehouse"]),  # no mapped group: refused by reviewqueue
}


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"
