from django import forms

from reviewqueue.accounts.models import ApiTokenPolicy


class PersonalTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="which laptop or script uses it")

    def __init__(self, *args, policy: ApiTokenPolicy, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"] = forms.IntegerField(
            min_value=1,
            max_value=policy.max_days,
            initial=policy.default_days,
            label="Lasts (days)",
            help_text=f"at most {policy.max_days} days (the maximum an admin set)",
        )
