"""reviewqueue settings: one file, every value from the environment (see README, "Configuration").

A `.env` file beside manage.py is read when present. With DATABASE_URL / REDIS_URL absent the app
runs on the embedded local default (reviewqueue/embedded.py); production passes both URLs.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from dotenv import load_dotenv

from reviewqueue import embedded
from reviewqueue.accounts.oidc_config import parse_role_map, parse_two_factor_policy
from reviewqueue.email_url import email_settings
from reviewqueue.env import (
    database_from_url,
    env_bool,
    env_int,
    env_key,
    env_key_list,
    env_list,
    env_str,
    env_url,
    vendor_env,
)
from reviewqueue.sandbox.intercom import defaults as intercom_sandbox
from reviewqueue.sandbox.multimail import defaults as multimail_sandbox
from reviewqueue.sandbox.oidc import defaults as oidc_sandbox
from reviewqueue.sandbox.slack import defaults as slack_sandbox

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)

# --- Where the data lives ---------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql"))
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
EMBEDDED = DATABASE_URL is None
DATABASES = {"default": database_from_url(DATABASE_URL or embedded.postgres_url())}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = REDIS_URL or embedded.redis_url()

# --- Secrets: none has a production default ----------------------------------------------------
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED:
        raise ImproperlyConfigured("SECRET_KEY must be set (50+ random characters) when DATABASE_URL is set")
    SECRET_KEY = embedded.local_secret_key()
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
# Retired keys, newest first: Django still accepts what they signed (sessions, password resets), and
# the keys below derived from them still decrypt and verify (reviewqueue/keys.py).
SECRET_KEY_FALLBACKS = env_key_list("SECRET_KEY_FALLBACKS")
# The key that encrypts secrets at rest (webhook signing secrets) and the one that signs audit
# checkpoints: each derived from SECRET_KEY with its own label unless set here ("" = derived), with
# their own retired keys for rotation (`manage.py rotate_keys` then re-encrypts with the current one).
FIELD_ENCRYPTION_KEY = env_key("FIELD_ENCRYPTION_KEY")
FIELD_ENCRYPTION_KEY_FALLBACKS = env_key_list("FIELD_ENCRYPTION_KEY_FALLBACKS")
AUDIT_SIGNING_KEY = env_key("AUDIT_SIGNING_KEY")
AUDIT_SIGNING_KEY_FALLBACKS = env_key_list("AUDIT_SIGNING_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if (DEBUG or EMBEDDED) else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The site's own origin (https://reviewqueue.example.com): MultiMail webhooks are subscribed to it only.
# Unset, the origins in CSRF_TRUSTED_ORIGINS serve (routing/services.py: site_origins).
SITE_URL = env_url("SITE_URL", schemes=("https", "http"))

# --- External services -------------------------------------------------------------------------
SANDBOX = env_bool("REVIEWQUEUE_SANDBOX", False)
# With the sandbox on, a vendor none of whose variables is set talks to its local sandbox
# (reviewqueue/sandbox/) with the sandbox's fixed local credentials; once any is set, none of the
# sandbox's values is used for that vendor, so they are never mixed with a real account's. The web
# process logs which each vendor uses at start-up (reviewqueue/startup.py).
_MULTIMAIL = vendor_env(
    "MultiMail",
    sandbox=SANDBOX,
    url=("MULTIMAIL_API_URL", "https://api.multimail.dev"),
    schemes=("https", "http"),
    sandbox_values={
        "MULTIMAIL_API_URL": multimail_sandbox.API_URL,
        "MULTIMAIL_API_KEY": multimail_sandbox.OVERSIGHT_KEY,
        "MULTIMAIL_SEND_API_KEY": multimail_sandbox.SEND_KEY,
        "MULTIMAIL_ADMIN_API_KEY": multimail_sandbox.ADMIN_KEY,
        "MULTIMAIL_WEBHOOK_SECRET": multimail_sandbox.WEBHOOK_SECRET,
    },
)
MULTIMAIL_API_URL = _MULTIMAIL.values["MULTIMAIL_API_URL"]
MULTIMAIL_API_KEY = _MULTIMAIL.values["MULTIMAIL_API_KEY"]  # oversight scope: pending, decide
MULTIMAIL_SEND_API_KEY = _MULTIMAIL.values["MULTIMAIL_SEND_API_KEY"]  # send scope: intake, tags, cancel
MULTIMAIL_ADMIN_API_KEY = _MULTIMAIL.values["MULTIMAIL_ADMIN_API_KEY"]  # admin: mailboxes, webhooks, audit log
MULTIMAIL_WEBHOOK_SECRET = _MULTIMAIL.values["MULTIMAIL_WEBHOOK_SECRET"]
_INTERCOM = vendor_env(
    "Intercom",
    sandbox=SANDBOX,
    url=("INTERCOM_API_URL", "https://api.intercom.io"),
    schemes=("https", "http"),
    sandbox_values={
        "INTERCOM_API_URL": intercom_sandbox.API_URL,
        "INTERCOM_ACCESS_TOKEN": intercom_sandbox.ACCESS_TOKEN,
        "INTERCOM_CLIENT_SECRET": intercom_sandbox.CLIENT_SECRET,
    },
)
INTERCOM_API_URL = _INTERCOM.values["INTERCOM_API_URL"]
INTERCOM_ACCESS_TOKEN = _INTERCOM.values["INTERCOM_ACCESS_TOKEN"]
INTERCOM_CLIENT_SECRET = _INTERCOM.values["INTERCOM_CLIENT_SECRET"]
# The Slack app (reviewqueue/slack/): a bot token (chat:write, users:read, users:read.email; channels:history
# so a retried post finds its earlier message instead of posting twice) and the
# signing secret of its interactivity requests; SLACK_API_URL is Slack's Web API (the sandbox's locally).
_SLACK = vendor_env(
    "Slack",
    sandbox=SANDBOX,
    url=("SLACK_API_URL", "https://slack.com/api"),
    schemes=("https", "http"),
    sandbox_values={
        "SLACK_API_URL": slack_sandbox.API_URL,
        "SLACK_BOT_TOKEN": slack_sandbox.BOT_TOKEN,
        "SLACK_SIGNING_SECRET": slack_sandbox.SIGNING_SECRET,
    },
)
SLACK_API_URL = _SLACK.values["SLACK_API_URL"]
SLACK_BOT_TOKEN = _SLACK.values["SLACK_BOT_TOKEN"]
SLACK_SIGNING_SECRET = _SLACK.values["SLACK_SIGNING_SECRET"]
VENDORS_IN_USE = [_MULTIMAIL.describe(), _INTERCOM.describe(), _SLACK.describe()]
INTERCOM_ADMIN_ID = env_str("INTERCOM_ADMIN_ID", "")  # empty: asked of GET /me
INTERCOM_API_VERSION = env_str("INTERCOM_API_VERSION", "2.14")

# --- Review behaviour --------------------------------------------------------------------------
POLL_INTERVAL = env_int("POLL_INTERVAL", 30, minimum=5)  # seconds between polls of pending drafts
CLAIM_TTL = env_int("CLAIM_TTL", 600, minimum=30)  # seconds a claim holds before it expires
# Seconds a conversation snapshot may be old at approve time before Intercom is asked again (a lost
# webhook would otherwise leave a stale snapshot that looks current).
CONTEXT_MAX_AGE = env_int("CONTEXT_MAX_AGE", 60, minimum=0)
# Admin-given outbound URLs (agent callbacks, notifications) may reach private, loopback and link-local
# addresses, and use http, only with this on: local development and tests (reviewqueue/outbound.py).
CALLBACK_ALLOW_PRIVATE_NETWORKS = env_bool("CALLBACK_ALLOW_PRIVATE_NETWORKS", False)

# --- Mail, metrics (README: "Metrics", "Digests") ----------------------------------------------
# EMAIL_URL (reviewqueue/email_url.py): smtp://user:password@host:port, smtp+tls://, smtps://, or
# file:///dir (caught, listed at /mail/ while DEBUG: what `make run` uses); unset, no mail is sent.
_EMAIL = email_settings(env_str("EMAIL_URL", ""))
MAILERS = {"default": _EMAIL.mailer}
EMAIL_CONFIGURED = _EMAIL.configured
MAIL_CATCHER_DIR = _EMAIL.catcher_dir
DEFAULT_FROM_EMAIL = env_str("EMAIL_FROM", "reviewqueue <reviewqueue@localhost>")
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (404).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- Django ------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "reviewqueue.accounts",
    "reviewqueue.audit",
    "reviewqueue.routing",
    "reviewqueue.review",
    "reviewqueue.callbacks",
    "reviewqueue.sla",
    "reviewqueue.inbox",
    "reviewqueue.slack",
    "reviewqueue.integrations.inbound",
    "reviewqueue.integrations.multimail",
    "reviewqueue.integrations.intercom",
    "reviewqueue.sandbox",
    "reviewqueue.oversight",
    "reviewqueue.digests",
]

MIDDLEWARE = [
    "reviewqueue.server_timing.ServerTimingMiddleware",  # outermost: times the whole stack
    "reviewqueue.accounts.middleware.UntrustedProxyWarningMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "reviewqueue.accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "reviewqueue.accounts.middleware.SessionLifetimeMiddleware",
    "reviewqueue.accounts.middleware.NoStoreWhenAuthenticatedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # last, so it is the first to see a view's error: an unreachable database or broker is a 503
    "reviewqueue.unavailable.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "reviewqueue.urls"
WSGI_APPLICATION = "reviewqueue.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "reviewqueue.accounts.context_processors.roles",
            ],
        },
    },
]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins are counted per username and address together (accounts/throttle.py): past the
# limit each further one doubles the wait before the next attempt, up to the window, which is also
# how long failures are remembered.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 900, minimum=60)  # seconds

# --- Single sign-on (OIDC) and two-factor (README: "Single sign-on and two-factor") -------------
# The identity provider is found by discovery at OIDC_ISSUER; single sign-on is off while it is empty.
# With the sandbox on and none of the three set, the local provider (python -m reviewqueue.sandbox.oidc)
# stands in, as for the other vendors.
_OIDC = vendor_env(
    "OIDC provider",
    sandbox=SANDBOX,
    url=("OIDC_ISSUER", ""),
    schemes=("https", "http"),
    sandbox_values={
        "OIDC_ISSUER": oidc_sandbox.ISSUER,
        "OIDC_CLIENT_ID": oidc_sandbox.CLIENT_ID,
        "OIDC_CLIENT_SECRET": oidc_sandbox.CLIENT_SECRET,
    },
)
OIDC_ISSUER = _OIDC.values["OIDC_ISSUER"] or ""
OIDC_CLIENT_ID = _OIDC.values["OIDC_CLIENT_ID"]
OIDC_CLIENT_SECRET = _OIDC.values["OIDC_CLIENT_SECRET"]
OIDC_ENABLED = bool(OIDC_ISSUER)
if OIDC_ENABLED and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER is set: OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set too")
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", oidc_sandbox.PROVIDER_NAME if _OIDC.sandbox else "single sign-on")
OIDC_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
# The claim holding the person's groups, and which group grants which role (set at every sign-in).
OIDC_ROLE_CLAIM = env_str("OIDC_ROLE_CLAIM", "groups")
OIDC_ROLE_MAP = parse_role_map(
    "OIDC_ROLE_MAP",
    env_str("OIDC_ROLE_MAP", oidc_sandbox.ROLE_MAP if _OIDC.sandbox else ""),
    ("reviewer", "auditor", "admin"),  # accounts/roles.py ROLES (not importable before Django is set up)
)
if OIDC_ENABLED and not OIDC_ROLE_MAP:
    raise ImproperlyConfigured("OIDC_ISSUER is set but OIDC_ROLE_MAP is empty: nobody could sign in through it")
# Local passwords off for everyone but one break-glass admin (each use audited, shown on the health page).
OIDC_ONLY = env_bool("OIDC_ONLY", False)
BREAK_GLASS_USERNAME = env_str("BREAK_GLASS_USERNAME", "")
if OIDC_ONLY and not OIDC_ENABLED:
    raise ImproperlyConfigured("OIDC_ONLY=1 turns password sign-in off, but OIDC_ISSUER is not set")
# mozilla-django-oidc: authorization code flow with PKCE, state and nonce; endpoints come from discovery
# (accounts/oidc.py), the id_token's signature, issuer, audience and expiry are checked (oidc_backend.py).
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = OIDC_SCOPES
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = 10
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_callback"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "reviewqueue.accounts.oidc_backend.RoleMappingOIDCBackend",
]
# Two-factor (TOTP through django-otp, with recovery codes): "admins" requires it of admins signing in
# with a password, "everyone" of every password sign-in. Sign-in through the provider relies on its own.
TWO_FACTOR_REQUIRED = parse_two_factor_policy("TWO_FACTOR_REQUIRED", env_str("TWO_FACTOR_REQUIRED", "admins"))
OTP_TOTP_ISSUER = env_str("TWO_FACTOR_ISSUER", "reviewqueue")
# Failed codes count towards the login throttle above (accounts/throttle.py) instead of a second delay.
OTP_TOTP_THROTTLE_FACTOR = 0

# Sessions: an idle timeout (renewed on a person's requests, at most once a minute, never on
# background polls) and an absolute lifetime however active (both in accounts/middleware.py), hardened cookies.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT", 1800, minimum=60)
SESSION_MAX_AGE = env_int("SESSION_MAX_AGE", 12 * 3600, minimum=60)  # seconds from login
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG and not EMBEDDED
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto and appends the client's address to
# X-Forwarded-For (Heroku-style Procfile deployments), both headers are believed; otherwise anyone
# could set them. TRUST_X_FORWARDED_FOR is BEHIND_PROXY's former name.
BEHIND_PROXY = env_bool("BEHIND_PROXY", env_bool("TRUST_X_FORWARDED_FOR", False))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# /healthz and /readyz are probed over plain HTTP from inside the platform.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content-Security-Policy (Django 6's built-in middleware): our own files only, scripts by nonce,
# no inline styles, no remote images: drafts and conversations are untrusted content.
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, far-future-cacheable names once collectstatic has written its manifest (deployments);
    # plain names before it (tests, a fresh checkout), so a page never fails over a missing manifest.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if (STATIC_ROOT / "staticfiles.json").exists()
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Without collectstatic (tests, a fresh checkout) files come from the finders, under their plain names.
WHITENOISE_USE_FINDERS = True

# --- Celery (https://docs.celeryq.dev/en/stable/userguide/configuration.html) -------------------
# kombu spells a unix-socket Redis "redis+socket://"; redis-py and Django's cache spell it "unix://".
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a task killed mid-way is delivered again (they are idempotent)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep a worker's database connection across tasks (Celery's Django fixup otherwise closes it after
# each one, and PostgreSQL spent more CPU starting connections than running the tasks); celery.py
# closes a stale or broken one around each task as Django does around a request.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
# Periodic tasks, by task name; each component lists its own here.
CELERY_BEAT_SCHEDULE: dict = {}
# Audit: a signed checkpoint of the chain's head every hour (so a cut tail shows); reconcile with MultiMail.
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {"task": "audit.checkpoint", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["audit-reconcile"] = {"task": "audit.reconcile", "schedule": 300.0}
# Intercom notifications whose enqueue was lost (the receiver publishes from a background thread).
CELERY_BEAT_SCHEDULE["intercom-webhooks-redrive"] = {"task": "intercom_webhooks_redrive", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["multimail-webhooks-redrive"] = {"task": "multimail_webhooks_redrive", "schedule": 60.0}
# MultiMail deliveries older than 30 days are pruned (the receiver refuses old timestamps, not old ids).
CELERY_BEAT_SCHEDULE["inbound-prune"] = {"task": "inbound.prune", "schedule": 86400.0}
# Review: the pending-drafts poll (safety net for lost webhooks) and the outbox sweeper (lost broker messages).
CELERY_BEAT_SCHEDULE["review-pending-sync"] = {"task": "review.pending_sync", "schedule": float(POLL_INTERVAL)}
CELERY_BEAT_SCHEDULE["review-outbox-sweep"] = {"task": "review.outbox_sweep", "schedule": 15.0}
# Callbacks to agents: retries due later than a minute, and deliveries whose worker died (callbacks/delivery.py).
CELERY_BEAT_SCHEDULE["callbacks-sweep"] = {"task": "callbacks.sweep", "schedule": 15.0}
# Callbacks whose decision_carried_out signal was lost (a worker killed right after the decide's commit).
CELERY_BEAT_SCHEDULE["callbacks-missed"] = {"task": "callbacks.missed", "schedule": 300.0}
# Routing: keep the mailbox list as MultiMail has it (the mailboxes page also has "sync now").
CELERY_BEAT_SCHEDULE["routing-mailboxes-sync"] = {"task": "routing.mailboxes_sync", "schedule": 300.0}
# Digests: each person's digest once its period has begun (once per period: digests/models.py DigestRun).
CELERY_BEAT_SCHEDULE["digests-send-due"] = {"task": "digests.send_due", "schedule": 60.0}
# Oversight: the evidence page's daily rollups (today and yesterday again, and days new decisions landed in).
CELERY_BEAT_SCHEDULE["oversight-rollups-refresh"] = {"task": "oversight.rollups_refresh", "schedule": 300.0}
# Oversight: what loosened mailboxes sent, sampled into spot checks; a tripped window tightens the mailbox.
CELERY_BEAT_SCHEDULE["oversight-spot-checks"] = {"task": "oversight.spot_checks_sweep", "schedule": 60.0}
# Oversight: the MultiMail account's physical_address, for the CAN-SPAM footer flag of commercial mailboxes.
CELERY_BEAT_SCHEDULE["oversight-account-refresh"] = {"task": "oversight.account_refresh", "schedule": 3600.0}
# Slack app: review requests a lost signal never queued, and deliveries a lost broker message left behind.
CELERY_BEAT_SCHEDULE["slack-sweep"] = {"task": "slack.sweep", "schedule": 15.0}
# SLA: overdue drafts escalated once, expired ones rejected, lost escalation messages re-driven.
CELERY_BEAT_SCHEDULE["sla-sweep"] = {"task": "sla.sweep", "schedule": 60.0}

# --- Logging: one JSON object per line on stdout; secrets are never passed to a logger ----------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "reviewqueue.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # httpx logs every request line at INFO; ours are logged by the clients with less detail.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},
    },
}
