from django.urls import path  # noqa: F401  (the receiver's route is added with it)

urlpatterns: list = []
