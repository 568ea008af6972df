from django.core.management.base import BaseCommand

from orders.diagram import to_dot, to_mermaid


class Command(BaseCommand):
    help = (
        "Print the order state machine, read from the code, as Graphviz dot or Mermaid. "
        "Regenerate the docs with: manage.py order_state_diagram --format dot "
        "> docs/state-machine.dot (and --format mermaid > docs/state-machine.md)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=["dot", "mermaid"], default="dot")

    def handle(self, *args, **options) -> None:
        self.stdout.write(to_dot() if options["format"] == "dot" else to_mermaid(), ending="")
