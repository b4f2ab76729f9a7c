from django.urls import path

from reviewqueue.digests import views

app_name = "digests"
urlpatterns = [
    path("digests/preference", views.digest_preference, name="preference"),
    path("mail/", views.caught_mail_view, name="caught_mail"),
]
