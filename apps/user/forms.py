"""Storefront forms of the account pages (allauth brings its own for sign-up and sign-in)."""

from __future__ import annotations

from django import forms

from apps.user.models import Address

_AUTOCOMPLETE = {
    "name": "name",
    "line1": "address-line1",
    "line2": "address-line2",
    "city": "address-level2",
    "state": "address-level1",
    "postal_code": "postal-code",
    "country": "country",
    "phone": "tel",
}


class ProfileForm(forms.Form):
    first_name = forms.CharField(
        label="First name", max_length=150, required=False, widget=forms.TextInput({"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label="Last name", max_length=150, required=False, widget=forms.TextInput({"autocomplete": "family-name"})
    )


class AddressForm(forms.ModelForm):
    """Field shapes and validators come from the model, the same ones the service applies; so does
    the ZIP/state check (Address.clean, run by the ModelForm's full_clean)."""

    class Meta:
        model = Address
        fields = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone", "is_default_shipping")
        help_texts = {
            "postal_code": "5 digits, or ZIP+4 as 12345-6789.",
            "phone": "For the courier, in case they need to call.",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, token in _AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["postal_code"].widget.attrs["inputmode"] = "numeric"
        self.fields["phone"].widget.attrs["type"] = "tel"

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class GuestCheckoutForm(AddressForm):
    """Checkout without an account: an e-mail for the receipt, and where to ship."""

    email = forms.EmailField(
        label="E-mail", max_length=254, widget=forms.EmailInput({"autocomplete": "email"}),
        help_text="For the order confirmation. Choose a password later to keep your account.",
    )  # fmt: skip

    class Meta(AddressForm.Meta):
        fields = ("email", "name", "line1", "line2", "city", "state", "postal_code", "country", "phone")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["email", *self.Meta.fields[1:]])
