"""The counters of security's own decisions, exposed on ``/metrics`` like every other metric.

They are plain ``prometheus_client`` counters in its default registry (or, with
``PROMETHEUS_MULTIPROC_DIR``, its per-process files), which ``/metrics`` renders whole: this
package needs nothing from observability to be counted.
"""

import os

from prometheus_client import Counter

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # A counter without labels writes its file as soon as it is defined, below.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

RATE_LIMIT_DECISIONS = Counter(
    "rate_limit_decisions",
    "Rate limiter decisions by scope and result "
    "(allowed, throttled, unavailable_allowed, unavailable_refused).",
    ["scope", "result"],
)
LOGIN_FAILURES = Counter(
    "login_failures",
    "Failed sign-ins (admin and API), from Django's user_login_failed signal.",
)
