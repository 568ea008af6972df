from django.core.management.base import BaseCommand

from notifications.delivery import dispatch_batches


class Command(BaseCommand):
    help = "Deliver due notifications (the same work as the dispatch_notifications task)."

    def add_arguments(self, parser):
        parser.add_argument("--max-batches", type=int, default=20)
        parser.add_argument("--batch-size", type=int, default=50)

    def handle(self, *args, max_batches: int, batch_size: int, **options):
        report = dispatch_batches(max_batches=max_batches, batch_size=batch_size)
        self.stdout.write(" ".join(f"{k}={v}" for k, v in report.as_dict().items()))
