from django.core.management.base import BaseCommand, CommandError

from payments import services
from payments.models import Payment
from payments.providers.errors import PaymentError


class Command(BaseCommand):
    help = (
        "Ask the gateway about one payment (by our reference) and apply its answer. CHANGES: "
        "what the matching webhook would have changed — the payment's status and, when it "
        "succeeded or failed, its order (paid with stock deducted, or payment_failed with "
        "stock released). Exits 1 for an unknown reference or when the gateway cannot answer."
    )

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The payment reference, e.g. ORD-…-1-abc.")

    def handle(self, *args, reference: str, **options):
        payment = Payment.objects.select_related("order").filter(reference=reference).first()
        if payment is None:
            raise CommandError(f"No payment with reference {reference!r}.")
        before = (payment.status, payment.order.state)
        try:
            payment = services.sync_payment_with_gateway(payment_id=payment.pk)
        except PaymentError as exc:
            raise CommandError(
                f"{payment.gateway} could not verify {reference}: {exc.message}"
            ) from exc
        after = (payment.status, payment.order.state)
        change = "unchanged" if before == after else f"was {before[0]}, order {before[1]}"
        self.stdout.write(
            f"{reference} ({payment.gateway}): payment {after[0]}, order {payment.order.number} "
            f"{after[1]} ({change})."
        )
