from django.urls import path

from ops import views

urlpatterns = [
    path("cron/cleanup/", views.cron_cleanup, name="cron-cleanup"),
]
