"""Abuse limits and access rules (the security app): throttles, webhook size and sources, who
may read /metrics."""

from config.env import env_bool, env_int, env_list, env_str

# Abuse limits, counted in Redis and shared by every process: "N/period" (s, min, hour, day,
# or e.g. "10/30s"); empty turns one off. See README "Security" for the fail modes.
THROTTLE_WEBHOOK_RATE = env_str("THROTTLE_WEBHOOK_RATE", "100/min")  # per client address
THROTTLE_CHECKOUT_RATE = env_str("THROTTLE_CHECKOUT_RATE", "10/min")  # per customer
THROTTLE_STAFF_RATE = env_str("THROTTLE_STAFF_RATE", "30/min")  # per staff user
THROTTLE_LOGIN_RATE = env_str("THROTTLE_LOGIN_RATE", "5/min")  # per client address + email
THROTTLE_PAYMENT_RATE = env_str("THROTTLE_PAYMENT_RATE", "10/min")  # pay, verify: per customer
# The admin login's URL names, counted like the token endpoint (security.admin_login).
ADMIN_LOGIN_URL_NAMES = ["admin:login"]
# Webhook bodies above this many bytes answer 413 payload_too_large (no gateway sends more).
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 262144)

# /metrics answers only a bearer token or an allowed address; with neither set it is a 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])

# Webhooks only from the gateways' published addresses (defence in depth, off by default).
# An empty list leaves that gateway unrestricted. Paystack's from its webhook docs; Stripe's
# list is at https://stripe.com/files/ips/ips_webhooks.txt; Flutterwave publishes none.
WEBHOOK_IP_ALLOWLIST_ENABLED = env_bool("WEBHOOK_IP_ALLOWLIST_ENABLED", False)
WEBHOOK_ALLOWED_IPS = {
    "paystack": env_list(
        "WEBHOOK_ALLOWED_IPS_PAYSTACK", ["52.31.139.75", "52.49.173.169", "52.214.14.220"]
    ),
    "stripe": env_list("WEBHOOK_ALLOWED_IPS_STRIPE", []),
    "flutterwave": env_list("WEBHOOK_ALLOWED_IPS_FLUTTERWAVE", []),
}
