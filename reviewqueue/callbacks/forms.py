from django import forms

from reviewqueue import outbound


class CallbackURLForm(forms.Form):
    url = forms.CharField(
        label="Callback URL",
        max_length=2000,
        help_text="https only; its host must resolve to a public address (checked again at every delivery)",
    )

    def clean_url(self) -> str:
        try:
            return outbound.check_outbound_url(self.cleaned_data["url"])
        except outbound.OutboundURLRefused as error:
            raise forms.ValidationError(str(error)) from error
