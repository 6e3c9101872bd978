from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from incidents import queueing
from incidents.importers import IMPORTERS
from incidents.services.crosswalk import (
    CrosswalkFileError,
    crosswalk_load,
    incidents_reached,
    incidents_rederive,
)


class Command(BaseCommand):
    help = (
        "Load the crosswalk seed files (incidents/crosswalk/<dataset>.csv) into the editable "
        "crosswalk: create the entries that are missing and update those no editor changed; "
        "an entry an editor changed in the admin is never overwritten. Incidents the new or "
        "updated entries reach are derived again. Every import does this for its own dataset; "
        "running it twice changes nothing."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            for importer in IMPORTERS.values():
                if not importer.vocabularies:
                    continue
                try:
                    changed = crosswalk_load(
                        dataset=importer.dataset, vocabularies=importer.vocabularies
                    )
                except CrosswalkFileError as error:
                    raise CommandError(str(error)) from error
                reached = incidents_reached(changed)
                rederived = incidents_rederive(
                    incident_ids=reached, vocabulary_order=[v.key for v in importer.vocabularies]
                )
                if rederived:
                    queueing.summaries_apply(reached)
                self.stderr.write(
                    f"{importer.dataset}: {len(changed)} entries created or updated, "
                    f"{rederived} incidents derived again."
                )
