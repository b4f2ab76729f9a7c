from django.urls import path

from reviewqueue.routing import views

app_name = "routing"
urlpatterns = [
    path("", views.home, name="home"),
    path("mailboxes/", views.mailboxes, name="mailboxes"),
    path("mailboxes/sync", views.mailboxes_sync, name="mailboxes_sync"),
    path("mailboxes/new", views.mailbox_new, name="mailbox_new"),
    path("mailboxes/<int:pk>/", views.mailbox_detail, name="mailbox"),
    path("mailboxes/<int:pk>/rename", views.mailbox_rename, name="mailbox_rename"),
    path("mailboxes/<int:pk>/oversight", views.mailbox_oversight, name="mailbox_oversight"),
    path("mailboxes/<int:pk>/webhook", views.mailbox_webhook, name="mailbox_webhook"),
    path("routing/", views.routing_rules, name="rules"),
    path("routing/versions/<int:version>/", views.routing_version, name="version"),
    path("people/", views.people, name="people"),
    path("people/token-policy", views.token_policy, name="token_policy"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/roles", views.person_role, name="person_role"),
    path("people/<int:pk>/active", views.person_active, name="person_active"),
    path("people/<int:pk>/tokens/<int:token_pk>/revoke", views.person_token_revoke, name="person_token_revoke"),
    path("intake-tokens/", views.intake_tokens, name="intake_tokens"),
    path("intake-tokens/<int:pk>/revoke", views.intake_token_revoke, name="intake_token_revoke"),
    path("health/", views.health, name="health"),
    path("health/outbox/<int:pk>/retry", views.outbox_retry, name="outbox_retry"),
]
