from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from core.durations import duration_argument, format_duration
from payments import maintenance
from shop.platform_settings import get_setting


class Command(BaseCommand):
    help = (
        "Verify pending gateway payments with their gateway. CHANGES: for each payment pending "
        "longer than --older-than (default: the payments.reconcile_after_minutes setting) the "
        "gateway's answer is applied exactly as a webhook would be: the payment succeeds (the "
        "order is paid, its stock deducted) or fails (the order's stock is released); still "
        "pending changes nothing. --dry-run only lists the payments. Exits 1 if a gateway "
        "could not be asked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=duration_argument, default=None)
        parser.add_argument("--limit", type=int, default=500, help="Most payments to check.")
        parser.add_argument("--dry-run", action="store_true", help="List; change nothing.")

    def handle(self, *args, older_than: timedelta | None, limit: int, dry_run: bool, **options):
        older_than = older_than or timedelta(
            minutes=get_setting("payments.reconcile_after_minutes")
        )
        age = format_duration(older_than)
        if dry_run:
            due = list(maintenance.pending_payments_due(older_than=older_than)[:limit])
            for payment in due:
                self.stdout.write(
                    f"  {payment.reference} {payment.gateway} "
                    f"created {payment.created_at:%Y-%m-%d %H:%M}"
                )
            self.stdout.write(f"{len(due)} payment(s) pending longer than {age} would be verified.")
            return
        report = maintenance.reconcile_pending_payments(older_than=older_than, limit=limit)
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items())) or "none"
        self.stdout.write(
            f"{report.checked} payment(s) pending longer than {age} verified: {statuses}; "
            f"{report.errors} gateway error(s); {report.skipped} taken by another run."
        )
        if report.errors:
            raise CommandError(f"{report.errors} payment(s) could not be verified; see the log.")
