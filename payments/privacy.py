"""Gateway data about a customer, for personal-data erasure (``accounts.personal_data``).

Payments and refunds stay for the books with their amounts and references; what a gateway
sent about the person (email, name, phone in a webhook body) goes. The normalised event,
its kind and its outcome stay, so processing history remains readable.
"""

from payments.models import WebhookEvent

ERASED_BODY = "(erased with the customer's personal data)"


def erase_gateway_payloads(*, customer_id: int) -> int:
    """Blank the raw webhook bodies about the customer's payments; returns how many."""
    return (
        WebhookEvent.objects.filter(payment__order__customer_id=customer_id)
        .exclude(raw_body=ERASED_BODY)
        .update(raw_body=ERASED_BODY)
    )
