"""Request ids, structured logs, rate limits, metrics and small security guards.

What other apps use:

- ``observability.throttles``: ``WebhookThrottle``, ``CheckoutThrottle``, ``StaffThrottle``,
  ``LoginThrottle`` (DRF ``throttle_classes``), ``throttle_view(...)`` for plain Django views.
- ``observability.metrics``: the metric objects (``CHECKOUTS``, ``PAYMENTS``,
  ``WEBHOOK_EVENTS``, ``WEBHOOK_PROCESSING_LAG``…), ``bounded_label`` and
  ``register_gauge_source`` for figures computed from the database at scrape time.
- ``observability.webhook_ips``: ``WebhookSourceAllowed`` (DRF permission) and
  ``require_webhook_source(gateway)`` (decorator).
- ``observability.request_id.get_request_id()`` for code that wants the current id.
"""
