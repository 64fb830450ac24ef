"""Query filters of the identity API, read strictly: a value the schema does not allow is a 400, never quietly
"no filter"."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from recognition.models import Person


class StrictNullBooleanField(forms.NullBooleanField):
    """Blank: no filter; true/false (as the schema publishes, or 1/0, True/False); anything else is a 400 rather
    than quietly no filter at all (NullBooleanField reads "null" as "not given")."""

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise forms.ValidationError("true or false", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictNullBooleanField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", forms.TextInput)  # the raw value: BooleanWidget maps unknown words to None
        super().__init__(*args, **kwargs)


class PersonFilter(filters.FilterSet):
    is_active = StrictBooleanFilter()
    in_recycle_bin = StrictBooleanFilter(method="filter_recycle_bin", label="in the recycle bin")

    class Meta:
        model = Person
        fields = ["is_active", "in_recycle_bin"]

    def filter_recycle_bin(self, queryset: QuerySet[Person], name: str, value: bool) -> QuerySet[Person]:
        return queryset.filter(deleted_at__isnull=not value)
