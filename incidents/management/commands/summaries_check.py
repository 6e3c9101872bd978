from django.core.management.base import BaseCommand, CommandError

from incidents.dashboards.summaries import summaries_check


class Command(BaseCommand):
    help = (
        "Rebuild the dashboard summaries and compare them with the rows kept up to date by "
        "deltas: prints how many differed (repaired by the rebuild) and a few of them. Celery "
        "beat runs this nightly; exits with an error when rows differed."
    )

    def handle(self, *args, **options):
        report = summaries_check(progress=lambda line: self.stderr.write(line))
        for example in report.examples:
            self.stdout.write(" ".join(str(part) for part in example))
        self.stdout.write(
            f"{report.rows} summary rows rebuilt; {report.missing} were missing or wrong, "
            f"{report.extra} should not have been there or were wrong (repaired)."
        )
        if not report.equal:
            raise CommandError("The maintained summary rows differed from a rebuild.")
