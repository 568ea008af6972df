"""The admin's two-factor pages: status, enrolment, the code after the password, recovery codes.

Reached at ``/admin/two-factor/``; ``StaffSecondFactorMiddleware`` sends every admin page here
until the session has passed its second factor. Each view is wrapped by ``admin_view`` (staff
only, CSRF, never cached).
"""

import base64
from base64 import b32encode
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from accounts import two_factor
from security.audit import record_sign_in
from shop.permissions import signed_in_user


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def redirect_with_next(page: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(page)}?{urlencode({'next': next_url})}")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else reverse("admin:index")


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    return render(
        request,
        f"accounts/two_factor/{template}",
        {**admin.site.each_context(request), "title": title, "next": _next_url(request), **context},
    )


def session_is_verified(request: HttpRequest) -> bool:
    """Has this admin session passed a device? (``is_verified`` is django-otp's, put on the
    user by its ``OTPMiddleware``.)"""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def _qr_data_uri(device: TOTPDevice) -> str:
    image = BytesIO()
    write_qrcode_image(device.config_url, image)
    return "data:image/svg+xml;base64," + base64.b64encode(image.getvalue()).decode()


def status_view(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return _page(
        request,
        "status.html",
        "Two-factor sign-in",
        enrolled=two_factor.has_second_factor(user),
        required=two_factor.required_by_policy(user),
        verified=session_is_verified(request),
        recovery_codes_left=two_factor.remaining_recovery_codes(user),
    )


@require_http_methods(["GET", "POST"])
def setup_view(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    # Replacing an authenticator needs the current one: the password alone must not do it.
    if two_factor.has_second_factor(user) and not session_is_verified(request):
        return redirect_with_next("staff-two-factor-verify", request.path)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        enrolment = two_factor.confirm_enrolment(user, form.cleaned_data["code"])
        if enrolment is not None:
            otp_login(request, enrolment.device)
            record_sign_in(user=user, action="second_factor_passed", request=request)
            return _page(
                request,
                "recovery_codes.html",
                "Your recovery codes",
                codes=enrolment.recovery_codes,
                enrolled_now=True,
            )
        form.add_error("code", "That code is not right. Check the phone's clock and try again.")
    device = two_factor.pending_enrolment(user)
    return _page(
        request,
        "setup.html",
        "Set up two-factor sign-in",
        form=form,
        qr_code=_qr_data_uri(device),
        secret=b32encode(device.bin_key).decode(),
        required=two_factor.required_by_policy(user),
    )


@require_http_methods(["GET", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if not two_factor.has_second_factor(user):
        return redirect_with_next("staff-two-factor-setup", _next_url(request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        device = two_factor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            record_sign_in(user=user, action="second_factor_passed", request=request)
            return HttpResponseRedirect(_next_url(request))
        record_sign_in(user=user, action="second_factor_failed", request=request)
        form.add_error("code", "That code is not right, was already used, or came too late.")
    return _page(request, "verify.html", "Two-factor sign-in", form=form)


@require_http_methods(["POST"])
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    if not session_is_verified(request):
        return HttpResponseRedirect(reverse("staff-two-factor-verify"))
    return _page(
        request,
        "recovery_codes.html",
        "Your recovery codes",
        codes=two_factor.new_recovery_codes(signed_in_user(request)),
        enrolled_now=False,
    )


status = admin.site.admin_view(status_view)
setup = admin.site.admin_view(setup_view)
verify = admin.site.admin_view(verify_view)
recovery_codes = admin.site.admin_view(recovery_codes_view)
