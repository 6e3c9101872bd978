from django.db import migrations

SEVERITIES = [
    (1, "SEV1", "critical", "Loss of life, serious physical harm, or very large financial or legal damage.", "#b91c1c"),
    (2, "SEV2", "major", "Prolonged outage or data loss in production, or significant money or legal liability.", "#ea580c"),
    (3, "SEV3", "moderate", "Limited harm to some customers, contained quickly.", "#ca8a04"),
    (4, "SEV4", "minor", "Embarrassment or small cost, no lasting damage.", "#2563eb"),
    (5, "SEV5", "negligible", "A near miss: no one was harmed.", "#4b5563"),
]

PERPETRATOR_KINDS = [
    ("ai-coding-agent", "AI coding agent", "An agent that writes code or runs commands and tools on a system."),
    ("ai-assistant", "AI assistant or copilot", "An assistant that suggests or drafts while a person stays in charge."),
    ("chatbot", "Chatbot or LLM application", "A conversational system answering customers, staff or the public."),
    ("autonomous-vehicle-robot", "Autonomous vehicle or robot", "A machine acting in the physical world."),
    ("recommender-classifier", "Recommender or classifier", "A model that ranks, scores, prices or decides about people or things."),
    ("generative-media", "Generative media model", "A model that produces images, video, audio or voices."),
    ("conventional-automation", "Conventional automation", "Scripts and rule-based systems with no learned model."),
    ("human-misuse", "Human misuse of AI", "People using AI tools to deceive, defraud or harm."),
]


def create_defaults(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    PerpetratorKind = apps.get_model("incidents", "PerpetratorKind")
    for rank, name, label, description, colour in SEVERITIES:
        Severity.objects.get_or_create(
            rank=rank,
            defaults={"name": name, "label": label, "description": description, "colour": colour},
        )
    for position, (slug, name, description) in enumerate(PERPETRATOR_KINDS):
        PerpetratorKind.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
