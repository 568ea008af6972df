from datetime import timedelta

from django.core.management.base import BaseCommand

from ops.durations import duration_argument, format_duration
from payments import maintenance
from shop.platform_settings import get_setting


class Command(BaseCommand):
    help = (
        "Delete old webhook events. CHANGES: deletes processed webhook events received longer "
        "ago than --older-than (default: the ops.purge_webhooks_after_days setting). "
        "Unprocessed events and events refused for their signature are kept. --dry-run "
        "counts them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=duration_argument, default=None)
        parser.add_argument("--dry-run", action="store_true", help="Count; delete nothing.")

    def handle(self, *args, older_than: timedelta | None, dry_run: bool, **options):
        older_than = older_than or timedelta(days=get_setting("ops.purge_webhooks_after_days"))
        age = format_duration(older_than)
        if dry_run:
            count = maintenance.purgeable_events(older_than=older_than).count()
            self.stdout.write(
                f"{count} processed webhook event(s) older than {age} would be deleted."
            )
            return
        count = maintenance.purge_processed_webhook_events(older_than=older_than)
        self.stdout.write(f"{count} processed webhook event(s) older than {age} deleted.")
