from django.urls import include, path

from reviewqueue import health
from reviewqueue.accounts import views as account_views

urlpatterns = [
    path("", account_views.home, name="home"),
    path("accounts/", include("reviewqueue.accounts.urls")),
    path("queue/", include("reviewqueue.review.urls")),
    path("audit/oversight/", include("reviewqueue.oversight.urls")),
    path("audit/", include("reviewqueue.audit.urls")),
    path("manage/", include("reviewqueue.routing.urls")),
    path("api/v1/oversight/", include("reviewqueue.oversight.api_urls")),
    path("api/v1/", include("reviewqueue.review.api_urls")),
    path("webhooks/multimail", include("reviewqueue.integrations.multimail.urls")),
    path("webhooks/intercom", include("reviewqueue.integrations.intercom.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
