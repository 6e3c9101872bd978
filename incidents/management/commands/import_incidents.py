from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from incidents.importers import IMPORTERS, ImportFailed, run_import


class Command(BaseCommand):
    help = (
        "Import incidents from a public dataset. The import is all-or-nothing: any invalid row "
        "stops it with the file, line and field, and nothing is written. Re-running an import "
        "updates changed incidents and leaves the rest alone."
    )

    def add_arguments(self, parser):
        sources = ", ".join(f"{name} ({cls.description})" for name, cls in IMPORTERS.items())
        parser.add_argument("source", choices=sorted(IMPORTERS), help=f"One of: {sources}.")
        parser.add_argument("path", help="The dataset's file or folder.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate and report what would be created, updated and skipped; write nothing.",
        )
        parser.add_argument(
            "--oecd-relationships",
            metavar="FILE",
            help="genai-incidents only: the AI Incident Database's oecd_relationships_*.json, "
            "read as cross-references from AIID incidents to OECD AIM records (found by itself "
            "when it lies beside the data).",
        )

    def handle(self, *args, source, path, dry_run, oecd_relationships, **options):
        if oecd_relationships and source != "genai-incidents":
            raise CommandError("--oecd-relationships is only read by the genai-incidents import")
        extra = {"oecd_relationships": oecd_relationships} if oecd_relationships else {}
        importer = IMPORTERS[source](path, **extra)
        bar = None

        def progress(done, total):
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="incident", disable=options["verbosity"] == 0)
            bar.update(1)

        try:
            summary = run_import(importer, dry_run=dry_run, progress=progress)
        except ImportFailed as error:
            raise CommandError(f"Import failed, nothing was written. {error}") from error
        finally:
            if bar is not None:
                bar.close()
        for note in summary.notes:
            self.stdout.write(f"Note: {note}")
        self.stdout.write(self.style.SUCCESS(str(summary)))
