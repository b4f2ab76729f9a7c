from django.urls import path

from reviewqueue.accounts import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke", views.profile_token_revoke, name="profile_token_revoke"),
]
