"""?page=N&page_size=M for every list of the API, read strictly: what the schema publishes is what is taken."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


def _positive_int(request: Request, name: str) -> int | None:
    """The parameter as a whole number >= 1, None when absent; anything else is a 400 (DRF would quietly fall back
    to the default, so a client's typo would read as an answer)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        raise ValidationError({name: ["a whole number, 1 or more"]})
    return int(raw)


class PagePagination(PageNumberPagination):
    """?page=N (1 is the first; past the last page: 404) and ?page_size=M (larger than 500 gives 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request: Request) -> int:
        wanted = _positive_int(request, self.page_size_query_param)
        return self.page_size if wanted is None else min(wanted, self.max_page_size)

    def paginate_queryset(self, queryset, request: Request, view=None):
        if request.query_params.get(self.page_query_param) not in self.last_page_strings:  # ?page=last stays
            _positive_int(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = f"Results per page (default {self.page_size}, at most {self.max_page_size})."
        return parameters
