from datetime import timedelta

from django.core.management.base import BaseCommand

from core.durations import duration_argument, format_duration
from orders import services
from shop.platform_settings import get_setting


class Command(BaseCommand):
    help = (
        "Archive finished orders. CHANGES: moves delivered, partially refunded, refunded and "
        "cancelled orders last changed longer ago than --older-than to 'archived' and writes "
        "an 'archived' event for each (archived orders leave staff work lists; nothing is "
        "deleted). Default age: the ops.archive_after_days platform setting. --dry-run "
        "changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=duration_argument,
            default=None,
            help='Age, e.g. "90d" or "12h" (default: ops.archive_after_days days).',
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the orders; archive nothing."
        )

    def handle(self, *args, older_than: timedelta | None, dry_run: bool, **options):
        older_than = older_than or timedelta(days=get_setting("ops.archive_after_days"))
        age = format_duration(older_than)
        if dry_run:
            count = services.archivable_orders(older_than=older_than).count()
            self.stdout.write(f"{count} finished order(s) older than {age} would be archived.")
            return
        count = services.archive_finished_orders(older_than=older_than, max_batches=10**6)
        self.stdout.write(f"{count} finished order(s) older than {age} archived.")
