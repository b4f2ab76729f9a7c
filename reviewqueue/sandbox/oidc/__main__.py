"""python -m reviewqueue.sandbox.oidc --port 8027 --state-dir var/sandbox/oidc --redirect-uri URL

A local OpenID Connect provider (django-oauth-toolkit) for `make run` and the tests: discovery at
<issuer>/.well-known/openid-configuration (issuer http://127.0.0.1:PORT/o), the authorization code
flow with PKCE, RS256 id_tokens, userinfo with email, email_verified and groups, and demo people in
each group (defaults.py). Its own Django project and SQLite database under --state-dir (its signing key
too), so nothing of it enters reviewqueue's database. `POST /_sandbox/knobs {"id_token_fault": ...}`
makes the next id_token tampered, wrong_nonce, wrong_audience or expired; `POST /_sandbox/people`
adds or changes a person ({username, email, groups, email_verified, password}).
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from reviewqueue.sandbox.oidc import defaults


def _signing_key(state_dir: Path) -> Path:
    """The provider's RSA key, made once per state directory."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = state_dir / "signing-key.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    return path


def configure(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "reviewqueue.sandbox.oidc.settings"
    os.environ["OIDC_SANDBOX_DB"] = str(state_dir / "provider.sqlite3")
    os.environ["OIDC_SANDBOX_KEY_FILE"] = str(_signing_key(state_dir))
    import django

    django.setup()


def seed(*, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
    """The demo people (defaults.DEMO_USERS) and reviewqueue's client registration."""
    from django.core.management import call_command
    from oauth2_provider.models import Application

    from reviewqueue.sandbox.oidc.urls import person_set

    call_command("migrate", verbosity=0, interactive=False)
    for username, (email, groups) in defaults.DEMO_USERS.items():
        person_set(username=username, email=email, groups=groups, password=defaults.demo_password(username))
    application = Application.objects.filter(client_id=client_id).first() or Application(client_id=client_id)
    application.name = "reviewqueue"
    application.client_secret = client_secret  # hashed when saved
    application.client_type = Application.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
    application.redirect_uris = " ".join(redirect_uris)
    application.algorithm = Application.RS256_ALGORITHM
    application.skip_authorization = True  # reviewqueue is the company's own app: no consent screen
    application.save()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reviewqueue.sandbox.oidc", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=defaults.PORT)
    parser.add_argument("--state-dir", help="where its database and signing key live (default: a temporary one)")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="reviewqueue's callback URL(s) (default: http://127.0.0.1:8000/accounts/oidc/callback/)",
    )
    parser.add_argument("--client-id", default=os.environ.get("OIDC_CLIENT_ID") or defaults.CLIENT_ID)
    parser.add_argument("--client-secret", default=os.environ.get("OIDC_CLIENT_SECRET") or defaults.CLIENT_SECRET)
    args = parser.parse_args(argv)
    state_dir = Path(args.state_dir) if args.state_dir else Path(tempfile.mkdtemp(prefix="oidc-sandbox-"))
    configure(state_dir)
    redirect_uris = args.redirect_uri or ["http://127.0.0.1:8000/accounts/oidc/callback/"]
    seed(client_id=args.client_id, client_secret=args.client_secret, redirect_uris=redirect_uris)

    from django.core.wsgi import get_wsgi_application

    from reviewqueue.sandbox.server import serve_forever

    print(f"OIDC sandbox: issuer http://{args.host}:{args.port}/o, state in {state_dir}", flush=True)
    serve_forever(get_wsgi_application(), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
