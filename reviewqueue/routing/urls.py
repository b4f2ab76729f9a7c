from django.urls import path

from reviewqueue.routing import views

app_name = "routing"
urlpatterns = [
    path("", views.home, name="home"),
]
