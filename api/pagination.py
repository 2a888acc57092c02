from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from api.problems import Problem


class Cursor(CursorPagination):
    """Keyset pages: constant cost at any depth, stable while rows are added."""

    ordering = "pk"
    page_size_query_param = "limit"

    def __init__(self):
        # Read per request, so settings (and tests) can change them.
        self.page_size = settings.API_PAGE_SIZE
        self.max_page_size = settings.API_MAX_PAGE_SIZE

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as error:
            # 404 like REST framework's own answer: no page is at that cursor.
            raise Problem(
                404, _("The cursor is not valid: use the next or previous link as given."), code="invalid_cursor"
            ) from error
