from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from core.durations import duration_argument, format_duration
from payments import maintenance


class Command(BaseCommand):
    help = (
        "Ask Flutterwave (it sends no dispute webhooks) for its chargebacks. CHANGES: each "
        "chargeback state not seen before is stored as a verified webhook event and queued; "
        "processing it opens a Dispute and moves the paid order to `disputed` (fulfilment and "
        "refunds held), or resolves it: won → the order goes back to its previous state, "
        "lost/accepted → `refunded`. States seen before change nothing. --process-now also "
        "applies the new events in this process (for hosts without a worker). Looks back "
        "--lookback (default 7d) and further while an older dispute is still open. Exits 1 if "
        "a gateway could not be asked."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--lookback", type=duration_argument, default=maintenance.DISPUTE_POLL_LOOKBACK
        )
        parser.add_argument(
            "--process-now", action="store_true", help="Apply the new events here, now."
        )

    def handle(self, *args, lookback: timedelta, process_now: bool, **options):
        report = maintenance.poll_gateway_disputes(lookback=lookback)
        self.stdout.write(
            f"Polled {', '.join(report.polled) or 'no gateway'} "
            f"(chargebacks since {format_duration(lookback)} ago or the oldest open dispute): "
            f"{report.seen} state(s) listed, {report.queued} new and queued, "
            f"{report.already_known} already known."
        )
        if process_now and report.event_ids:
            replayed = maintenance.replay_events(report.event_ids)
            outcomes = ", ".join(f"{n} {o}" for o, n in sorted(replayed.outcomes.items()))
            self.stdout.write(
                f"Processed {replayed.processed}: {outcomes or 'none'}; "
                f"{replayed.deferred} deferred, {replayed.failed} failed."
            )
        if report.errors:
            raise CommandError(f"Could not ask {', '.join(report.errors)}; see the log.")
