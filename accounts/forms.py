"""Sign-up and profile forms."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.files.uploadedfile import UploadedFile

from accounts.conf import account_settings

TAKEN = (
    "This username or email address cannot be used. If you already have an account, log in; otherwise "
    "choose another username."
)


class SignUpForm(UserCreationForm):
    """Name, username, email and password (Django's validators; hashed by the service), plus consent to
    biometric processing (the text shown is the one recorded)."""

    first_name = forms.CharField(label="Your name", max_length=150,
                                 help_text="As it should appear when the cameras recognise you.")  # fmt: skip
    email = forms.EmailField(label="Email", max_length=254)
    consent = forms.BooleanField(
        label="I agree",
        required=True,
        error_messages={"required": "Sign-up needs your consent to take face photos."},
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("first_name", "username", "email")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.consent_text = account_settings().consent_text
        self.consent_version = account_settings().consent_version
        self.fields["username"].widget.attrs.pop("autofocus", None)
        self.fields["first_name"].widget.attrs.update(autofocus=True, autocomplete="name")
        self.fields["email"].widget.attrs["autocomplete"] = "email"

    def validate_password_for_user(self, user, **kwargs) -> None:
        # Weak-password messages go under the password itself, not under its confirmation.
        super().validate_password_for_user(user, password_field_name="password1")

    def clean_username(self) -> str:
        return self.cleaned_data["username"]  # a taken one is refused in clean(), the same way as a taken email

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean(self) -> dict:
        """A taken username and a taken email get one and the same answer, so the form never tells which
        accounts exist (sign-up is also throttled per address: SIGNUP_ATTEMPTS_PER_HOUR)."""
        cleaned = super().clean()
        username, email = cleaned.get("username"), cleaned.get("email")
        users = get_user_model().objects
        if (username and users.filter(username__iexact=username).exists()) or (
            email and users.filter(email__iexact=email).exists()
        ):
            raise forms.ValidationError(TAKEN, code="taken")
        return cleaned

    def validate_unique(self) -> None:
        """The model's own check would name the username field; clean() answers for both (the database's
        unique constraint still stands behind it)."""

    def clean_first_name(self) -> str:
        name = " ".join(self.cleaned_data["first_name"].split())
        if not name:
            raise forms.ValidationError("Please give your name.")
        return name


class ConsentForm(forms.Form):
    consent = forms.BooleanField(label="I agree", required=True)


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotoUploadForm(forms.Form):
    photos = forms.Field(widget=MultiplePhotoInput(attrs={"multiple": True, "accept": "image/*"}),
                         label="Photos of yourself", required=False)  # fmt: skip

    def clean_photos(self) -> list[UploadedFile]:
        files = [f for f in self.files.getlist("photos") if isinstance(f, UploadedFile)]
        if not files:
            raise forms.ValidationError("Choose at least one photo.")
        most = account_settings().signup_photos * 4
        if len(files) > most:
            raise forms.ValidationError(f"At most {most} photos at a time.")
        return files
