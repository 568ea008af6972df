from django.core.management.base import BaseCommand, CommandError

from payments import services
from payments.models import WebhookEvent
from payments.providers.errors import PaymentError


class Command(BaseCommand):
    help = (
        "Process one stored webhook event now, in this process. CHANGES: what the event says "
        "(a payment succeeded or failed, a refund, a dispute) is applied to the payment and its "
        "order, exactly as the worker would. An event already processed is left alone (the "
        "same news is never applied twice); an event refused for its signature is never "
        "processed. Exits 1 when the event is unknown, refused, deferred or fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("event_id", type=int, help="WebhookEvent id (see the admin).")

    def handle(self, *args, event_id: int, **options):
        row = WebhookEvent.objects.filter(pk=event_id).first()
        if row is None:
            raise CommandError(f"No webhook event {event_id}.")
        label = f"{row.gateway} {row.event_type or '?'} ({row.event_key})"
        if not row.signature_valid:
            raise CommandError(
                f"Webhook event {event_id} was refused (bad signature): never processed."
            )
        if row.processed_at is not None:
            self.stdout.write(
                f"Event {event_id} {label} was already processed: {row.outcome}. Nothing done."
            )
            return
        try:
            outcome = services.process_webhook_event(event_id=event_id)
        except services.Deferred as exc:
            raise CommandError(f"Event {event_id} {label} deferred: {exc}") from exc
        except PaymentError as exc:
            raise CommandError(f"Event {event_id} {label} failed: {exc.message}") from exc
        self.stdout.write(f"Event {event_id} {label} processed: {outcome}.")
