from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from incidents import exporters


class Command(BaseCommand):
    help = (
        "Export every public incident and policy change in Blast Radius's own format "
        "(docs/export-format.md). Internal, draft and in-review incidents are never included. "
        "JSON goes to standard output unless --output names a file; CSV needs --output: a folder, "
        "or a path ending in .zip. Identical data gives byte-identical files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "csv"], default="json")
        parser.add_argument(
            "--output", help="File (JSON), or folder or .zip file (CSV); JSON default: stdout."
        )

    def handle(self, *args, format, output, **options):
        if format == "csv":
            if not output:
                raise CommandError("CSV export needs --output: a folder or a .zip file.")
            exporters.export_csv(output)
            self.stderr.write(f"Wrote the CSV export to {output}.")
        elif output:
            with Path(output).open("w", encoding="utf-8") as stream:
                exporters.export_json(stream)
            self.stderr.write(f"Wrote the JSON export to {output}.")
        else:
            exporters.export_json(self.stdout)
