"""Who may do what, how often, from where; and the record of sensitive reads and sign-ins.

What other apps use:

- ``security.throttles``: ``WebhookThrottle``, ``CheckoutThrottle``, ``StaffThrottle``,
  ``LoginThrottle``… (DRF ``throttle_classes``), ``throttle_view(...)`` for plain Django views.
- ``security.webhook_ips``: ``WebhookSourceAllowed`` (DRF permission) and
  ``require_webhook_source(gateway)`` (decorator).
- ``security.client_ip.client_ip(request)``: the client's address, trusting proxies only as
  configured.
- ``security.audit.record_sign_in(...)``: the audit trail (``AuditEvent``) of staff sign-ins.
- ``security.metrics_access.require_metrics_access``: who may read ``/metrics``.

This package imports no other app but ``core``; observability (logs, request ids, metrics) is
its sibling, so the few counters of its own decisions live in ``security.metrics``.
"""
