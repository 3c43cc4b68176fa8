from django.core.management.base import BaseCommand

from ops.broker import queue_lengths, queues_declare


class Command(BaseCommand):
    help = "Lists this environment's Celery queues with the messages waiting in each."

    def add_arguments(self, parser):
        parser.add_argument(
            "--declare",
            action="store_true",
            help="Declare the queues first (before starting several workers at once).",
        )

    def handle(self, *args, declare=False, **options):
        if declare:
            queues_declare()
        for name, length in queue_lengths().items():
            self.stdout.write(f"{name}\t{length}")
