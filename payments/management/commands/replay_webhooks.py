from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.durations import duration_argument, format_duration
from payments import maintenance


class Command(BaseCommand):
    help = (
        "Process stored, verified webhook events that are still unprocessed, in this process. "
        "CHANGES: each event is applied to its payment and order as the worker would (each at "
        "most once). --since limits to events received in that window (default 24h); "
        "--failed only those whose processing already failed at least once; --dead only those "
        "no longer re-driven (failed ops.webhook_max_attempts times). --dry-run lists them. "
        "Exits 1 if any event failed again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=duration_argument, default=timedelta(hours=24))
        parser.add_argument(
            "--failed", action="store_true", help="Only events whose processing failed before."
        )
        parser.add_argument(
            "--dead", action="store_true", help="Only dead events (no longer re-driven)."
        )
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="List; change nothing.")

    def handle(self, *args, since: timedelta, limit: int, dry_run: bool, **options):
        failed, dead = options["failed"], options["dead"]
        events = maintenance.unprocessed_events(
            since=timezone.now() - since, failed_only=failed, dead_only=dead
        )
        rows = list(events.values_list("pk", "gateway", "event_type", "attempts")[:limit])
        which = "dead" if dead else "failed" if failed else "unprocessed"
        window = format_duration(since)
        if dry_run:
            for pk, gateway, event_type, attempts in rows:
                self.stdout.write(f"  {pk} {gateway} {event_type} attempts={attempts}")
            self.stdout.write(
                f"{len(rows)} {which} event(s) of the last {window} would be replayed."
            )
            return
        report = maintenance.replay_events([pk for pk, *_ in rows])
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(report.outcomes.items())) or "none"
        self.stdout.write(
            f"{len(rows)} {which} event(s) of the last {window} replayed: {report.processed} "
            f"processed ({outcomes}), {report.deferred} deferred, {report.failed} failed."
        )
        if report.failed:
            raise CommandError(f"{report.failed} event(s) failed again; see the log.")
