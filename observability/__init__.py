"""Request ids, structured logs, metrics and health probes.

What other apps use:

- ``observability.metrics``: the metric objects (``CHECKOUTS``, ``PAYMENTS``,
  ``WEBHOOK_EVENTS``, ``WEBHOOK_PROCESSING_LAG``…), ``bounded_label`` and
  ``register_gauge_source`` for figures computed from the database at scrape time.
- ``observability.request_id.get_request_id()`` for code that wants the current id.

Throttles, the webhook source allow-list, the client address and the audit log are in
``security``; this package imports no app but ``core``.
"""
