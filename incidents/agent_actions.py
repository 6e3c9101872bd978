"""Reading an agent's action record: the action class of a tool call, and the missing gates."""

import re

from incidents.models import ActionClassRule, AgentAction

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words_of(tool, command):
    """The text rules match: tool and command, with snake_case and camelCase split into words."""
    text = f"{tool or ''} {command or ''}"
    return _CAMEL.sub(" ", text).replace("_", " ")


class Classifier:
    """The enabled rules, compiled once; `classify` needs no further query."""

    def __init__(self, rules):
        self.rules = []
        for rule in rules:
            try:
                self.rules.append((re.compile(rule.pattern, re.IGNORECASE), rule.action_class))
            except re.error:
                continue  # the admin refuses these; one saved by other means is skipped

    @classmethod
    def from_database(cls):
        return cls(ActionClassRule.objects.filter(enabled=True))

    def classify(self, tool, command):
        text = words_of(tool, command)
        for pattern, action_class in self.rules:
            if pattern.search(text):
                return action_class
        return AgentAction.ActionClass.OTHER


UNGATED = {
    AgentAction.Gate.NONE: "No approval gate before the harmful {} step",
    AgentAction.Gate.BYPASSED: "The approval gate was bypassed before the harmful {} step",
}


def missing_gates(actions):
    """[(action, sentence)] for each harmful step that no gate held back."""
    return [
        (action, UNGATED[action.approval_gate].format(action.get_action_class_display().lower()))
        for action in actions
        if action.harmful and action.approval_gate in UNGATED
    ]
