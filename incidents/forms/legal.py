"""The legal case list's search and filters."""

from django import forms

from incidents.models import LegalCase


def _choices(field_name):
    values = (
        LegalCase.objects.exclude(**{field_name: ""})
        .order_by(field_name)
        .values_list(field_name, flat=True)
        .distinct()
    )
    return [("", "Any"), *((value, value) for value in values)]


class LegalCaseFilterForm(forms.Form):
    q = forms.CharField(label="Search captions", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False)
    jurisdiction = forms.ChoiceField(label="Jurisdiction", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = _choices("status_group")
        self.fields["jurisdiction"].choices = _choices("jurisdiction_level")

    def cases(self):
        """The cases these filters choose; a value the form cannot take is ignored."""
        cases = LegalCase.objects.for_list()
        if not self.is_valid():
            return cases
        data = self.cleaned_data
        cases = cases.search(data["q"].strip())
        if data["status"]:
            cases = cases.filter(status_group=data["status"])
        if data["jurisdiction"]:
            cases = cases.filter(jurisdiction_level=data["jurisdiction"])
        return cases
