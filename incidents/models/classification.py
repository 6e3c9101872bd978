"""Rules that give a tool call its action class; editors correct them in the admin."""

import re

from django.core.exceptions import ValidationError
from django.db import models

from .controls import AgentAction


class ActionClassRule(models.Model):
    """A pattern over a tool call ("tool command"); the first rule in order that matches wins.

    Before matching, snake_case and camelCase are split into words ("volumeDelete" reads
    "volume Delete", "delete_file" reads "delete file"), and matching ignores case.
    """

    position = models.PositiveIntegerField(
        default=100, help_text="Rules are tried from the lowest position up; the first match wins."
    )
    pattern = models.CharField(
        max_length=500,
        help_text=r"A regular expression, e.g. \b(delete|drop)\b. Case is ignored.",
    )
    action_class = models.CharField(max_length=20, choices=AgentAction.ActionClass.choices)
    note = models.CharField(max_length=200, blank=True, help_text="What the rule is for.")
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return f"{self.position}. /{self.pattern}/ -> {self.get_action_class_display()}"

    def clean(self):
        try:
            re.compile(self.pattern)
        except re.error as error:
            message = f"Not a valid regular expression: {error}."
            raise ValidationError({"pattern": message}) from error
