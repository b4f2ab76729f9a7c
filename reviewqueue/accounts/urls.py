from django.urls import path

from reviewqueue.accounts import mfa_views, oidc_views, security_views, views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke", views.profile_token_revoke, name="profile_token_revoke"),
    path("oidc/start/", oidc_views.SsoStartView.as_view(), name="oidc_start"),
    path("oidc/callback/", oidc_views.SsoCallbackView.as_view(), name="oidc_callback"),
    path("two-factor/", mfa_views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/setup/", mfa_views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/recovery-codes", mfa_views.recovery_codes_new, name="recovery_codes_new"),
    path("people/<int:pk>/sessions/", security_views.person_sessions, name="person_sessions"),
    path("people/<int:pk>/sessions/<int:session_pk>/end", security_views.person_session_end, name="person_session_end"),
    path("people/<int:pk>/sessions/end-all", security_views.person_sessions_end_all, name="person_sessions_end_all"),
    path("people/<int:pk>/two-factor/reset", security_views.person_two_factor_reset, name="person_two_factor_reset"),
]
