from django.urls import path

from reviewqueue.slack import views

app_name = "slack"
urlpatterns = [path("interactions", views.slack_interactions, name="interactions")]
