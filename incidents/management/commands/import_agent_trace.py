from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from incidents.importers.agent_trace import TraceError
from incidents.models import Incident
from incidents.services import review as review_services
from incidents.services.agent_trace import agent_trace_import


class Command(BaseCommand):
    help = (
        "Import an agent's tool calls from an OTLP JSON trace (OpenTelemetry GenAI semantic "
        "conventions: execute_tool spans) into an incident's action record, as a new revision "
        "by the given user. Secrets are redacted before anything is written; a malformed file "
        "is refused with the place where it broke, and nothing is written. Published incidents "
        "keep their public page until a reviewer approves the new revision."
    )

    def add_arguments(self, parser):
        parser.add_argument("incident", help="The incident's number (12 or #12) or its slug.")
        parser.add_argument("file", help="The OTLP JSON trace file.")
        parser.add_argument(
            "--user", required=True, help="Username of the reporter the revision is saved as."
        )
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add the steps after the existing ones instead of replacing the action record.",
        )

    def handle(self, *args, incident, file, user, append, **options):
        target = _incident(incident)
        try:
            by = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {user!r}.") from None
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        latest = target.latest_revision()
        bar = None

        def progress(done, total):
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="span", disable=options["verbosity"] == 0)
            bar.update(done - bar.n)

        try:
            result = agent_trace_import(
                incident=target,
                data=path.read_bytes(),
                by=by,
                base_revision_number=latest.number if latest else 0,
                append=append,
                progress=progress,
            )
        except TraceError as error:
            raise CommandError(f"{file}: {error}") from None
        except review_services.Conflict as conflict:
            raise CommandError(f"Not imported: {conflict} Run the command again.") from None
        except review_services.NotAllowed as error:
            raise CommandError(f"Not imported: {error}") from None
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(self.style.SUCCESS(f"{target.public_number} {target.title}: {result}"))


def _incident(reference):
    reference = reference.strip()
    number = reference.removeprefix("#")
    lookup = {"number": int(number)} if number.isdigit() else {"slug": reference}
    try:
        return Incident.objects.get(**lookup)
    except Incident.DoesNotExist:
        raise CommandError(f"No incident {reference!r} (give its number or its slug).") from None
