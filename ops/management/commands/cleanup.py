from django.core.management.base import BaseCommand

from ops.cleanup import run_cleanup


class Command(BaseCommand):
    help = (
        "Routine cleanup (what beat and GET /api/cron/cleanup/ run). CHANGES: cancels unpaid "
        "orders past their expiry (reason 'expired', their stock locks released), deletes "
        "expired stock locks, deletes checkout idempotency keys older than 24 h. Bounded work "
        "per run; safe to run while beat or another cleanup runs. --dry-run changes nothing "
        "and prints what would be done."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be done; change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        report = run_cleanup(dry_run=dry_run)
        verb = "would be" if dry_run else "were"
        self.stdout.write(
            f"{report.expired_orders_cancelled} overdue unpaid order(s) {verb} cancelled.\n"
            f"{report.expired_locks_deleted} expired stock lock(s) {verb} deleted.\n"
            f"{report.idempotency_keys_purged} expired idempotency key(s) {verb} deleted."
        )
