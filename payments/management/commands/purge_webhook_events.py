from datetime import timedelta

from django.core.management.base import BaseCommand

from core.durations import duration_argument, format_duration
from payments import maintenance
from shop.platform_settings import get_setting


class Command(BaseCommand):
    help = (
        "Delete old webhook events. CHANGES: deletes processed webhook events received longer "
        "ago than --older-than (default: the ops.purge_webhooks_after_days setting), and events "
        "refused for their signature received longer ago than --refused-older-than (default: "
        "ops.purge_refused_webhooks_after_days). Unprocessed verified events are kept. "
        "--dry-run counts them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=duration_argument, default=None)
        parser.add_argument("--refused-older-than", type=duration_argument, default=None)
        parser.add_argument("--dry-run", action="store_true", help="Count; delete nothing.")

    def handle(
        self,
        *args,
        older_than: timedelta | None,
        refused_older_than: timedelta | None,
        dry_run: bool,
        **options,
    ):
        older_than = older_than or timedelta(days=get_setting("ops.purge_webhooks_after_days"))
        refused_older_than = refused_older_than or timedelta(
            days=get_setting("ops.purge_refused_webhooks_after_days")
        )
        age, refused_age = format_duration(older_than), format_duration(refused_older_than)
        if dry_run:
            count = maintenance.purgeable_events(older_than=older_than).count()
            refused = maintenance.purgeable_refused_events(older_than=refused_older_than).count()
            self.stdout.write(
                f"{count} processed webhook event(s) older than {age} would be deleted.\n"
                f"{refused} refused webhook event(s) older than {refused_age} would be deleted."
            )
            return
        count = maintenance.purge_processed_webhook_events(older_than=older_than)
        refused = maintenance.purge_refused_webhook_events(older_than=refused_older_than)
        self.stdout.write(
            f"{count} processed webhook event(s) older than {age} deleted.\n"
            f"{refused} refused webhook event(s) older than {refused_age} deleted."
        )
