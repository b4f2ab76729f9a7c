from django.urls import include, path

from reviewqueue import health
from reviewqueue.accounts import views as account_views
from reviewqueue.inbox.admin_views import person_intercom_teammate
from reviewqueue.metrics.views import metrics_view

# An unreachable database or broker met in a middleware (not a view) answers 503, not 500.
handler500 = "reviewqueue.unavailable.server_error"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("reviewqueue.accounts.urls")),
    path("queue/", include("reviewqueue.review.urls")),
    path("audit/oversight/", include("reviewqueue.oversight.urls")),
    path("spot-checks/", include("reviewqueue.oversight.spot_urls")),
    path("manage/oversight/", include("reviewqueue.oversight.manage_urls")),
    path("audit/", include("reviewqueue.audit.urls")),
    path("manage/sla/", include("reviewqueue.sla.urls")),
    path("manage/slack/", include("reviewqueue.slack.admin_urls")),
    path("manage/callbacks/", include("reviewqueue.callbacks.urls")),
    path("manage/people/<int:pk>/intercom", person_intercom_teammate, name="inbox_person_intercom_teammate"),
    path("manage/", include("reviewqueue.routing.urls")),
    path("api/v1/oversight/", include("reviewqueue.oversight.api_urls")),
    path("api/v1/", include("reviewqueue.review.api_urls")),
    path("webhooks/multimail", include("reviewqueue.integrations.multimail.urls")),
    path("webhooks/intercom", include("reviewqueue.integrations.intercom.urls")),
    path("integrations/intercom/canvas/", include("reviewqueue.inbox.urls")),  # the Intercom Inbox app
    path("integrations/slack/", include("reviewqueue.slack.urls")),  # the Slack app's interactivity URL
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # off (404) unless METRICS_TOKEN is set
    path("", include("reviewqueue.digests.urls")),  # digests/preference; mail/ (caught mail, local only)
]
