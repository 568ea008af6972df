from security.throttles import ClientAddressThrottle


class AuthRateThrottle(ClientAddressThrottle):
    """Slows sign-up spam and password spraying: AUTH_THROTTLE_RATE per client address.

    Counted in the shared Redis limiter; refuses (503) when Redis is down, like LoginThrottle.
    """

    scope = "auth"
    rate_setting = "AUTH_THROTTLE_RATE"
