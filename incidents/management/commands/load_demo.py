import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from incidents.demo.loader import DEMO_FILE, load_demo

DEMO_ROLES = ["reporter", "reviewer", "editor", "viewer"]


class Command(BaseCommand):
    help = (
        "Load the demo set of real AI incidents and policy changes. Safe to run again: "
        "existing demo records are updated in place and keep their public numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DEMO_FILE), help="Demo JSON file to load.")
        parser.add_argument(
            "--users",
            action="store_true",
            help="Also create one account per role (reporter, reviewer, editor, viewer) with a "
            "new random password each time, printed here. For local demos only.",
        )

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
        if options["users"]:
            self.create_users()

    def create_users(self):
        User = get_user_model()
        self.stdout.write("Demo accounts (sign in at /accounts/login/):")
        for role in DEMO_ROLES:
            password = secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(
                username=role, defaults={"email": f"{role}@example.com"}
            )
            user.set_password(password)
            user.is_staff = role == "editor"
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(f"  {role:<9} password {password}")
