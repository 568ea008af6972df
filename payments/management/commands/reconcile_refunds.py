from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.durations import duration_argument, format_duration
from payments.services import reconcile_pending_refunds
from payments.services.refund_settlement import pending_refunds_due
from shop.platform_settings import get_setting


class Command(BaseCommand):
    help = (
        "Look up pending refunds at their gateway. CHANGES: each refund pending longer than "
        "--older-than (default: the payments.reconcile_refunds_after_minutes setting) that the "
        "gateway lists as processed is booked on its order (restock included), one it lists as "
        "failed is failed (its money refundable again, the order flagged); then the orders of "
        "refunds still pending after payments.refund_attention_after_hours are flagged. "
        "--dry-run only lists them. Exits 1 if a gateway could not be asked."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=duration_argument, default=None)
        parser.add_argument("--limit", type=int, default=500, help="Most refunds to check.")
        parser.add_argument("--dry-run", action="store_true", help="List; change nothing.")

    def handle(
        self,
        *args: Any,
        older_than: timedelta | None,
        limit: int,
        dry_run: bool,
        **options: Any,
    ) -> None:
        older_than = older_than or timedelta(
            minutes=get_setting("payments.reconcile_refunds_after_minutes")
        )
        age = format_duration(older_than)
        if dry_run:
            due = pending_refunds_due(older_than=older_than, now=None)[:limit]
            for refund in due.select_related("payment"):
                self.stdout.write(
                    f"  refund {refund.pk} {refund.amount} {refund.currency} of "
                    f"{refund.payment.reference} sent {refund.created_at:%Y-%m-%d %H:%M}"
                )
            self.stdout.write(f"{len(due)} refund(s) pending longer than {age} would be looked up.")
            return
        report = reconcile_pending_refunds(
            older_than=older_than,
            attention_after=timedelta(hours=get_setting("payments.refund_attention_after_hours")),
            limit=limit,
        )
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items())) or "none"
        self.stdout.write(
            f"{report.checked} refund(s) pending longer than {age} looked up: {statuses}; "
            f"{report.not_listed} not listed by the gateway yet; {report.errors} gateway "
            f"error(s); {report.skipped} taken by another run; {report.flagged} order(s) flagged."
        )
        if report.errors:
            raise CommandError(f"{report.errors} refund(s) could not be looked up; see the log.")
