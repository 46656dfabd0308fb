"""Identity: a custom user whose login is the email address (in place from the first migration), and the
user's book of US postal addresses."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from apps.user.zipcodes import zip_matches_state


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # Emails are stored lowercased (and unique on lower(email)), so sign-in ignores the case typed.
        return self.get(email__iexact=username or "")

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False, help_text="Can sign in to the admin.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_uniq")]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


# USPS two-letter codes: the 50 states, DC, the inhabited territories and the military "states".
US_STATES: list[tuple[str, str]] = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
    ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
    ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"),
    ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"),
    ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
    ("AS", "American Samoa"), ("GU", "Guam"), ("MP", "Northern Mariana Islands"), ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"), ("AA", "Armed Forces Americas"), ("AE", "Armed Forces Europe"),
    ("AP", "Armed Forces Pacific"),
]  # fmt: skip
US_STATE_CODES = frozenset(code for code, _ in US_STATES)
COUNTRIES = [("US", "United States")]

zip_code_validator = RegexValidator(
    r"\A[0-9]{5}(-[0-9]{4})?\Z", "Enter a ZIP code as 12345 or 12345-6789.", code="invalid_zip"
)
phone_validator = RegexValidator(
    r"\A\+?[0-9 ().-]{7,20}\Z", "Enter a phone number of 7 to 20 digits, spaces or ( ) . - signs.", code="invalid_phone"
)


class Address(models.Model):
    """A US postal address in a user's book; at most one per user is the default shipping address."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField("full name", max_length=100)
    line1 = models.CharField("address line 1", max_length=200)
    line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2, choices=US_STATES)
    postal_code = models.CharField("ZIP code", max_length=10, validators=[zip_code_validator])
    country = models.CharField(max_length=2, choices=COUNTRIES, default="US")
    phone = models.CharField(max_length=20, blank=True, validators=[phone_validator])
    is_default_shipping = models.BooleanField("default shipping address", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-is_default_shipping", "id")
        constraints = [
            # Partial unique index: the database, not only the service, keeps "one default" true under races.
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default_shipping=True), name="address_one_default_shipping_per_user"
            ),
            models.CheckConstraint(condition=Q(country="US"), name="address_country_us"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.line1}, {self.city}, {self.state} {self.postal_code}"

    def clean(self) -> None:
        # The one ZIP/state check: full_clean runs it for the storefront's ModelForms and for the
        # address services behind the API (400 invalid_address naming postal_code).
        if self.state and self.postal_code and not zip_matches_state(self.postal_code, self.state):
            raise ValidationError(
                {
                    "postal_code": ValidationError(
                        "ZIP %(zip)s is not in %(state)s: please check the ZIP code and the state.",
                        code="zip_state_mismatch",
                        params={"zip": self.postal_code, "state": self.state},
                    )
                }
            )
