from django import forms

MAX_ID = 2**63 - 1  # a larger number overflows the database driver (a server error)


def _is_row_id(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit() and 0 < int(text) <= MAX_ID


class SelectionForm(forms.Form):
    page_rows = forms.TypedMultipleChoiceField(coerce=int, required=False)
    row = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked against the job in the service; accept any 64-bit id here.
        self.fields["page_rows"].valid_value = _is_row_id
        self.fields["row"].valid_value = _is_row_id


class StartImportForm(SelectionForm):
    """The mode, and (selected mode) the ticks of the page the admin started from."""

    mode = forms.ChoiceField(choices=[("all", "all"), ("selected", "selected")])
