import json

from django.core.management.base import BaseCommand

from ops.report import health_report


class Command(BaseCommand):
    help = (
        "Print the shop's health figures. Read-only: CHANGES NOTHING. Payment success rate "
        "over 24 h (succeeded / settled payments started in the last 24 h), orders pending "
        "payment created in the last hour, stock units held by active locks per product, and "
        "webhook events of the last 24 h per gateway, type and processed or not. "
        "--json prints one JSON object for machines."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print JSON instead of text."
        )

    def handle(self, *args, as_json: bool = False, **options):
        report = health_report()
        if as_json:
            self.stdout.write(_dumps(report))
            return
        self.stdout.write(f"Shop report at {report['generated_at']}")
        payments = report["payments_last_24h"]
        rate = payments["success_rate"]
        self.stdout.write(
            "Payment success rate, last 24 h: "
            + (f"{rate:.1%}" if rate is not None else "n/a")
            + f" ({payments['succeeded']} of {payments['settled']} settled)"
        )
        self.stdout.write(
            f"Orders pending payment created in the last hour: "
            f"{report['orders_pending_payment_last_hour']}"
        )
        locked = report["locked_units_per_product"]
        self.stdout.write(f"Locked units per product ({len(locked)} product(s)):")
        for row in locked:
            self.stdout.write(f"  {row['sku']:<16} {row['locked_units']:>6}  {row['name']}")
        events = report["webhook_events_last_24h"]
        self.stdout.write(f"Webhook events, last 24 h ({len(events)} kind(s)):")
        for row in events:
            self.stdout.write(
                f"  {row['gateway']:<12} {row['event_type']:<32} "
                f"processed={row['processed']} unprocessed={row['unprocessed']}"
            )


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True)
