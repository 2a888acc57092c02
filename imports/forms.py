from django import forms


class SelectionForm(forms.Form):
    page_rows = forms.TypedMultipleChoiceField(coerce=int, required=False)
    row = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked against the job in the service; accept any integer here.
        self.fields["page_rows"].valid_value = lambda value: str(value).isdigit()
        self.fields["row"].valid_value = lambda value: str(value).isdigit()


class StartImportForm(forms.Form):
    mode = forms.ChoiceField(choices=[("all", "all"), ("selected", "selected")])
