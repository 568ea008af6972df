"""OpenAPI: the API's session authentication is Django's session cookie, as drf-spectacular
describes DRF's own (``cookieAuth``)."""

from drf_spectacular.authentication import SessionScheme


# drf-spectacular registers extensions in an unannotated __init_subclass__ (nothing to type here)
class SecondFactorSessionScheme(SessionScheme):  # type: ignore[no-untyped-call]
    target_class = "accounts.authentication.SessionAuthentication"
