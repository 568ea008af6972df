"""The admin's two-factor pages, mounted at ``/admin/two-factor/`` (config/urls.py)."""

from django.urls import path

from accounts import admin_views

urlpatterns = [
    path("", admin_views.status, name="staff-two-factor"),
    path("setup/", admin_views.setup, name="staff-two-factor-setup"),
    path("verify/", admin_views.verify, name="staff-two-factor-verify"),
    path("recovery-codes/", admin_views.recovery_codes, name="staff-two-factor-recovery-codes"),
]
