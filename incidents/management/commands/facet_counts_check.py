from django.core.management.base import BaseCommand, CommandError

from incidents import facet_counts


class Command(BaseCommand):
    help = (
        "Compare the kept facet counts of the incident list with counts taken from the "
        "incidents themselves, and list every difference (scope, filter, facet, kept, exact). "
        "Fails when there is one; facet_counts_rebuild puts them right."
    )

    def handle(self, *args, **options):
        facet_counts.count_pending()
        if not facet_counts.is_built():
            raise CommandError("No facet counts are kept yet: run facet_counts_rebuild.")
        differences = facet_counts.differences()
        for scope, filter_key, facet_key, kept, exact in differences:
            self.stdout.write(f"{scope}\t{filter_key or '(all)'}\t{facet_key}\t{kept}\t{exact}")
        if differences:
            raise CommandError(f"{len(differences)} facet count(s) differ from the incidents.")
        self.stderr.write("The kept facet counts equal the exact counts.")
