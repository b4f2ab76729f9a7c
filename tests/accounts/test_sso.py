"""Single sign-on against the local OIDC provider (python -m reviewqueue.sandbox.oidc), end to end:
reviewqueue's start page → the provider's sign-in form → the callback, whose code is exchanged at the
provider's token endpoint and whose id_token is checked against its JWKS."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from reviewqueue.accounts.models import SsoIdentity, UserSession
from reviewqueue.accounts.roles import user_roles
from reviewqueue.audit.models import AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
User = get_user_model()


def start(client: Client, next_url: str = "") -> str:
    response = client.get(reverse("oidc_start"), {"next": next_url} if next_url else {})
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def callback(client: Client, back_url: str):
    parts = urlsplit(back_url)
    assert parts.path == reverse("oidc_callback")
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def sign_in(client: Client, provider, username: str, next_url: str = ""):
    return callback(client, provider.authorize(start(client, next_url), username))


def signed_in_as(client: Client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.filter(pk=user_id).first() if user_id else None


def roles_of(username: str) -> set[str]:
    return set(user_roles(User.objects.get(username=username)))


def test_the_full_code_flow_uses_pkce_state_and_nonce_and_signs_a_reviewer_in(sso):
    client = Client()
    authorize_url = start(client)
    query = parse_qs(urlsplit(authorize_url).query)
    assert authorize_url.startswith(f"{sso.issuer}/authorize/")
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32

    response = callback(client, sso.authorize(authorize_url, "riley"))

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("review:queue")
    assert client.get(reverse("review:queue")).status_code == 200
    riley = signed_in_as(client)
    assert riley.username == "riley" and riley.email == "riley@fernhill.example"
    assert not riley.has_usable_password()
    assert set(user_roles(riley)) == {"reviewer"}
    assert SsoIdentity.objects.get(user=riley).issuer == sso.issuer
    login = AuditEvent.objects.get(action="login", actor_label="riley")
    assert login.payload == {"method": "sso"}
    granted = AuditEvent.objects.get(action="role.granted", target_id=str(riley.pk))
    assert granted.payload["role"] == "reviewer" and "rq-reviewers" in granted.payload["reason"]
    assert UserSession.objects.get(user=riley).method == "sso"


def test_the_next_page_is_kept_through_the_provider(sso):
    client = Client()
    response = sign_in(client, sso, "riley", next_url="/queue/?flag=attachments")
    assert response["Location"] == "/queue/?flag=attachments"


def test_a_callback_with_a_state_this_browser_never_sent_is_refused(sso):
    client = Client()
    back = sso.authorize(start(client), "riley")
    forged = back.replace("state=", "state=x")
    response = callback(client, forged)
    assert response.status_code == 400
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("tampered", "Signature verification failed"),
        ("wrong_nonce", "Nonce"),
        ("wrong_audience", "audience"),
        ("expired", "expired"),
    ],
)
def test_a_bad_id_token_is_refused_with_a_clear_page_and_audited(sso, fault, why):
    client = Client()
    authorize_url = start(client)
    sso.fault(fault)
    response = callback(client, sso.authorize(authorize_url, "morgan"))
    assert response.status_code == 400
    assert b"Sign-in failed" in response.content
    assert signed_in_as(client) is None
    assert not User.objects.filter(username="morgan").exists()
    event = AuditEvent.objects.get(action="login.sso_failed")
    assert why.lower() in event.payload["reason"].lower()


def test_group_changes_at_the_provider_move_roles_at_the_next_sign_in(sso):
    sso.person("quinn", groups=["rq-reviewers", "rq-auditors"])
    sign_in(Client(), sso, "quinn")
    assert roles_of("quinn") == {"reviewer", "auditor"}

    sso.person("quinn", groups=["rq-admins", "warehouse"])
    response = sign_in(Client(), sso, "quinn")

    assert response.status_code == 302
    assert roles_of("quinn") == {"admin"}
    quinn = User.objects.get(username="quinn")
    changes = AuditEvent.objects.filter(target_id=str(quinn.pk), action__in=["role.granted", "role.revoked"])
    assert sorted((e.action, e.payload["role"]) for e in changes) == [
        ("role.granted", "admin"),
        ("role.granted", "auditor"),
        ("role.granted", "reviewer"),
        ("role.revoked", "auditor"),
        ("role.revoked", "reviewer"),
    ]
    assert all(e.actor_label == "single sign-on" for e in changes)


def test_someone_with_no_mapped_group_is_refused_and_not_created(sso):
    client = Client()
    response = sign_in(client, sso, "jordan")
    assert response.status_code == 403
    assert b"None of your groups at the identity provider grants a role" in response.content
    assert b"No account was created" in response.content
    assert not User.objects.filter(username="jordan").exists()
    assert signed_in_as(client) is None
    refusal = AuditEvent.objects.get(action="login.sso_refused")
    assert refusal.payload["reason"] == "no_mapped_group" and refusal.payload["groups"] == ["warehouse"]


def test_losing_every_group_removes_the_roles_and_the_tokens_stop_at_once(sso):
    from reviewqueue.accounts.services import api_token_issue
    from reviewqueue.audit.services import Actor

    sso.person("sam", groups=["rq-reviewers"])
    sign_in(Client(), sso, "sam")
    sam = User.objects.get(username="sam")
    _, raw = api_token_issue(user=sam, name="script", actor=Actor.system("test"))
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    assert api.get("/api/v1/drafts").status_code == 200

    sso.person("sam", groups=["warehouse"])
    assert sign_in(Client(), sso, "sam").status_code == 403

    assert roles_of("sam") == set()
    assert api.get("/api/v1/drafts").status_code == 403


def test_an_existing_person_is_matched_by_a_verified_email(sso, django_user_model):
    local = make_user(django_user_model, "avery.local", "auditor")
    local.email = "avery@fernhill.example"
    local.save()
    client = Client()
    sign_in(client, sso, "avery")
    assert signed_in_as(client) == local
    assert not User.objects.filter(username="avery").exists()
    assert SsoIdentity.objects.get(user=local)


def test_an_unverified_email_never_matches_an_existing_person(sso, django_user_model):
    local = make_user(django_user_model, "drew", "admin")
    local.email = "drew@fernhill.example"
    local.save()
    sso.person("drew-impostor", email="drew@fernhill.example", groups=["rq-reviewers"], email_verified=False)
    client = Client()
    response = sign_in(client, sso, "drew-impostor")
    assert response.status_code == 403
    assert b"has not verified it" in response.content
    assert signed_in_as(client) is None
    assert not SsoIdentity.objects.exists()
    assert set(user_roles(local)) == {"admin"}


def test_an_admin_signing_in_through_the_provider_is_not_asked_for_a_second_factor(sso):
    client = Client()
    response = sign_in(client, sso, "morgan")
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("routing:home")
    assert client.get(reverse("routing:home")).status_code == 200


def test_a_deactivated_person_cannot_sign_in_through_the_provider(sso):
    from reviewqueue.accounts.services import user_deactivate
    from reviewqueue.audit.services import Actor

    sso.person("kit", groups=["rq-reviewers"])
    sign_in(Client(), sso, "kit")
    user_deactivate(user=User.objects.get(username="kit"), actor=Actor.system("test"))
    client = Client()
    response = sign_in(client, sso, "kit")
    assert response.status_code == 403
    assert b"deactivated" in response.content
    assert signed_in_as(client) is None


def test_the_login_page_offers_the_provider(sso, client):
    response = client.get(reverse("login"))
    assert b"Sign in with Fernhill ID (sandbox)" in response.content
    assert reverse("oidc_start").encode() in response.content


def test_without_oidc_the_login_page_has_no_provider_and_its_pages_are_404(client, settings, db):
    settings.OIDC_ENABLED = False
    assert b"Sign in with" not in client.get(reverse("login")).content
    assert client.get(reverse("oidc_start")).status_code == 404
    assert client.get(reverse("oidc_callback"), {"code": "x", "state": "y"}).status_code == 404


def test_an_unreachable_provider_is_a_clear_502(sso, settings, client):
    from reviewqueue.accounts.oidc import forget_provider_metadata
    from tests.livesystem import free_port

    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/o"
    forget_provider_metadata()
    response = client.get(reverse("oidc_start"))
    assert response.status_code == 502
    assert b"could not be reached" in response.content
