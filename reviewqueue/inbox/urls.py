from django.urls import path

from reviewqueue.inbox import views

app_name = "inbox"
urlpatterns = [
    path("initialize", views.canvas_initialize, name="canvas_initialize"),
    path("submit", views.canvas_submit, name="canvas_submit"),
]
