"""What the AI did, step by step, and the controls that would (or did) stop it."""

from django.db import models
from django.utils.text import slugify

from .incident import Incident, Tristate
from .policy import PolicyChange
from .taxonomy import AISystem


class AgentAction(models.Model):
    """One step an AI system took during an incident, in the order it happened."""

    class ActionClass(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Write"
        DESTROY = "destroy", "Destroy"
        DEPLOY = "deploy", "Deploy"
        PERMISSION_CHANGE = "permission_change", "Permission change"
        SPEND = "spend", "Spend money"
        EXFILTRATE = "send_data_out", "Send data out"
        OTHER = "other", "Other"

    class Gate(models.TextChoices):
        NONE = "none", "No gate"
        APPROVED = "approved", "Approved by a person"
        BYPASSED = "bypassed", "Approval bypassed or ignored"
        BLOCKED = "blocked", "Blocked by a control"

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="agent_actions")
    position = models.PositiveIntegerField(help_text="Order of the step within the incident.")
    at = models.DateTimeField(null=True, blank=True)
    ai_system = models.ForeignKey(
        AISystem, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    tool = models.CharField(max_length=200, blank=True)
    command = models.TextField(blank=True, help_text="The command or call as executed.")
    target = models.CharField("target resource", max_length=500, blank=True)
    action_class = models.CharField(max_length=20, choices=ActionClass.choices, db_index=True)
    reversible = models.CharField(max_length=10, choices=Tristate.choices, default=Tristate.UNKNOWN)
    approval_gate = models.CharField(max_length=10, choices=Gate.choices, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCEEDED)
    harmful = models.BooleanField("the harmful step", default=False)

    class Meta:
        ordering = ["incident", "position", "pk"]
        indexes = [models.Index(fields=["incident", "position"])]

    def __str__(self):
        return (
            f"{self.position}. {self.get_action_class_display()}: {self.tool or self.command[:40]}"
        )


class Control(models.Model):
    """A safeguard from the catalogue: what can prevent, detect or correct an incident."""

    class Type(models.TextChoices):
        PREVENTIVE = "preventive", "Preventive"
        DETECTIVE = "detective", "Detective"
        CORRECTIVE = "corrective", "Corrective"

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=12, choices=Type.choices, db_index=True)
    # Names a version of the catalogue for cached pages (incidents.caching.data_version).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:120]
        super().save(*args, **kwargs)


class ControlAssessment(models.Model):
    """For one incident, how one control fared or would have fared."""

    class Verdict(models.TextChoices):
        WORKED = "worked", "In place and worked"
        FAILED = "failed", "In place and failed"
        WOULD_HAVE_STOPPED = "would_have_stopped", "Absent; would have stopped it"
        WOULD_HAVE_REDUCED = "would_have_reduced", "Absent; would have reduced the harm"
        NOT_RELEVANT = "not_relevant", "Not relevant"
        UNKNOWN = "unknown", "Unknown"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="control_assessments"
    )
    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="assessments")
    verdict = models.CharField(max_length=20, choices=Verdict.choices, db_index=True)
    rationale = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["incident", "control__name"]
        # A control's page lists its assessments with one verdict.
        indexes = [models.Index(fields=["control", "verdict"], name="assessment_control_verdict")]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "control"], name="one_assessment_per_control"
            )
        ]

    def __str__(self):
        return f"{self.control}: {self.get_verdict_display()}"


class PolicyControl(models.Model):
    """A policy change adopts a control."""

    policy_change = models.ForeignKey(
        PolicyChange, on_delete=models.CASCADE, related_name="control_adoptions"
    )
    control = models.ForeignKey(Control, on_delete=models.PROTECT, related_name="adoptions")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["policy_change", "control"], name="policy_adopts_control_once"
            )
        ]

    def __str__(self):
        return f"{self.policy_change} adopts {self.control}"
