from django.urls import path

from reviewqueue.callbacks import views

app_name = "callbacks"
urlpatterns = [
    path("tokens/<int:token_pk>/", views.token_callback, name="token"),
    path("tokens/<int:token_pk>/rotate-secret", views.token_secret_rotate, name="token_secret_rotate"),
    path("tokens/<int:token_pk>/remove", views.token_callback_remove, name="token_remove"),
    path("deliveries/<int:pk>/redeliver", views.delivery_redeliver, name="delivery_redeliver"),
]
