from django.urls import path

from reviewqueue.oversight import spot_views

app_name = "spot_checks"
urlpatterns = [
    path("", spot_views.spot_queue, name="queue"),
    path("<int:send_id>/", spot_views.spot_check_decide, name="decide"),
]
