"""OpenAPI: the API's session authentication is Django's session cookie, as drf-spectacular
describes DRF's own (``cookieAuth``)."""

from drf_spectacular.authentication import SessionScheme


class SecondFactorSessionScheme(SessionScheme):
    target_class = "accounts.authentication.SessionAuthentication"
