from django.core.management.base import BaseCommand

from incidents.demo.loader import DEMO_FILE, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo set of real AI incidents and policy changes. Safe to run again: "
        "existing demo records are updated in place and keep their public numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DEMO_FILE), help="Demo JSON file to load.")

    def handle(self, *args, **options):
        verbose = options["verbosity"] > 1
        incidents, policies = load_demo(
            options["file"], progress=self.stdout.write if verbose else None
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {incidents} incidents, {policies} policy changes."
            )
        )
