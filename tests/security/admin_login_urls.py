"""An admin whose login page another view renders (as a two-factor login would)."""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


class OtherLoginSite(admin.AdminSite):
    def login(self, request, extra_context=None):
        return HttpResponse("another login view", status=200)


site = OtherLoginSite(name="admin")
urlpatterns = [path("staff/", site.urls)]
