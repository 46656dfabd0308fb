"""Write entry points of the user context: keyword-only, typed, one transaction, events to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from apps.user import lockout
from apps.user.active import users_set_active  # noqa: F401 -- re-exported: the bulk (de)activation service
from apps.user.events import UserRegistered
from apps.user.guests import guest_account_create, is_guest  # noqa: F401 -- re-exported for other contexts
from apps.user.models import Address, User
from apps.user.selectors import address_queryset
from nexuscart.errors import ApplicationError, NotFound
from nexuscart.outbox import publish

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country", "phone")


class InvalidCredentials(ApplicationError):
    status_code, code, title = 401, "invalid_credentials", "Unauthorized"


class InvalidToken(ApplicationError):
    status_code, code, title = 401, "token_invalid", "Unauthorized"


class LoginLocked(ApplicationError):
    status_code, code, title = 429, "throttled", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def _invalid(detail: str, *, code: str, error: DjangoValidationError) -> ApplicationError:
    errors = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    return ApplicationError(detail, code=code, extra={"errors": errors})


def user_register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create an account from the API: a valid, unused email and a password the validators accept."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise _invalid("The email address is not valid.", code="invalid_email", error=exc) from exc
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ApplicationError(
            "The password is too weak.", code="weak_password", extra={"errors": {"password": exc.messages}}
        ) from exc
    taken = ApplicationError(
        "An account with this email address already exists.",
        code="email_taken",
        extra={"errors": {"email": ["An account with this email address already exists."]}},
    )
    if User.objects.filter(email__iexact=email).exists():
        raise taken
    try:
        with transaction.atomic():
            user = User.objects.create_user(email, password, first_name=first_name, last_name=last_name)
            # allauth's own pages (sign-in, email management) read this table too.
            EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
            publish(UserRegistered(user_id=user.pk, email=user.email))
    except IntegrityError as exc:  # a concurrent registration won the unique lower(email) index
        raise taken from exc
    return user


@transaction.atomic
def user_signup_record(*, user: User) -> None:
    """Record a sign-up that allauth persisted (storefront form or social login), in its transaction."""
    publish(UserRegistered(user_id=user.pk, email=user.email))


@transaction.atomic
def user_update_profile(*, user_id: int, first_name: str | None = None, last_name: str | None = None) -> User:
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, value.strip())
            changed.append(field)
    if changed:
        try:
            user.full_clean(
                exclude=[f.name for f in User._meta.fields if f.name not in changed],
                validate_unique=False,
                validate_constraints=False,
            )
        except DjangoValidationError as exc:
            raise _invalid("The profile is invalid.", code="invalid_profile", error=exc) from exc
        user.save(update_fields=changed)
    return user


def _normalize_address(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    for upper in ("state", "country"):
        if isinstance(cleaned.get(upper), str):
            cleaned[upper] = cleaned[upper].upper()
    return cleaned


def _lock_address_book(user_id: int) -> None:
    # Every change to one user's book takes the user row lock first, so "one default" is decided
    # in order; the partial unique index is the backstop.
    if not User.objects.select_for_update().filter(pk=user_id).exists():
        raise NotFound("No such user.", code="user_not_found")


def _validated_save(address: Address) -> Address:
    try:
        address.full_clean(exclude=["user"], validate_constraints=False)
    except DjangoValidationError as exc:
        raise _invalid("The address is invalid.", code="invalid_address", error=exc) from exc
    if address.is_default_shipping:
        address_queryset(user_id=address.user_id).filter(is_default_shipping=True).exclude(pk=address.pk).update(
            is_default_shipping=False
        )
    address.save()
    return address


@transaction.atomic
def address_create(
    *,
    user_id: int,
    name: str,
    line1: str,
    city: str,
    state: str,
    postal_code: str,
    line2: str = "",
    country: str = "US",
    phone: str = "",
    is_default_shipping: bool | None = None,
) -> Address:
    """Add an address; the user's first address becomes the default shipping one unless told otherwise."""
    _lock_address_book(user_id)
    values = _normalize_address(
        {
            "name": name,
            "line1": line1,
            "line2": line2,
            "city": city,
            "state": state,
            "postal_code": postal_code,
            "country": country,
            "phone": phone,
        }
    )
    if is_default_shipping is None:
        is_default_shipping = not address_queryset(user_id=user_id).exists()
    return _validated_save(Address(user_id=user_id, is_default_shipping=is_default_shipping, **values))


def _own_address_for_update(*, user_id: int, address_id: int) -> Address:
    _lock_address_book(user_id)
    address = address_queryset(user_id=user_id).filter(pk=address_id).first()
    if address is None:  # someone else's address looks exactly like a missing one
        raise NotFound("No such address.", code="address_not_found")
    return address


@transaction.atomic
def address_update(*, user_id: int, address_id: int, **changes: Any) -> Address:
    """Change some fields of the user's address (names from ADDRESS_FIELDS, and is_default_shipping)."""
    unknown = set(changes) - {*ADDRESS_FIELDS, "is_default_shipping"}
    if unknown:
        raise ApplicationError(f"Unknown address fields: {sorted(unknown)}.", code="invalid_address")
    address = _own_address_for_update(user_id=user_id, address_id=address_id)
    for field, value in _normalize_address(changes).items():
        setattr(address, field, value)
    return _validated_save(address)


@transaction.atomic
def address_set_default_shipping(*, user_id: int, address_id: int) -> Address:
    address = _own_address_for_update(user_id=user_id, address_id=address_id)
    address.is_default_shipping = True
    return _validated_save(address)


@transaction.atomic
def address_delete(*, user_id: int, address_id: int) -> None:
    _own_address_for_update(user_id=user_id, address_id=address_id).delete()


def token_pair_obtain(*, email: str, password: str, request: HttpRequest | None = None) -> TokenPair:
    """Check the credentials and issue an access token and a refresh token (recorded as outstanding)."""
    user = authenticate(request, email=email.strip(), password=password)
    locked = lockout.locked_decision(request)
    if locked is not None:
        raise LoginLocked("Too many failed sign-ins; try again later.", retry_after=locked.retry_after_seconds)
    if user is None or not user.is_active:
        raise InvalidCredentials("No active account has these credentials.")
    refresh = RefreshToken.for_user(user)
    update_last_login(None, user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def _revoke_all_refresh_tokens(user_id: int) -> int:
    outstanding = OutstandingToken.objects.filter(user_id=user_id).exclude(blacklistedtoken__isnull=False)
    return len(BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in outstanding]))


class _UncheckedBlacklistRefreshToken(RefreshToken):
    """A refresh token verified in full except for the blacklist, which the caller checks under a row lock."""

    def verify(self) -> None:
        Token.verify(self)


def token_pair_refresh(*, refresh: str) -> TokenPair:
    """Swap a refresh token for a new pair; the presented one is blacklisted (rotation).

    A rotated token that comes back means two parties hold it, one of them maybe a thief: every
    refresh token of that user is revoked, so both must sign in again (OAuth 2.0 security BCP).
    """
    with transaction.atomic():
        try:
            token = _UncheckedBlacklistRefreshToken(refresh)
        except TokenError as exc:
            raise InvalidToken(f"The refresh token is not valid: {exc}.") from exc
        jti = token[jwt_settings.JTI_CLAIM]
        user_id = token.get(jwt_settings.USER_ID_CLAIM)
        # Two concurrent refreshes of one token queue here; the second sees the first's blacklist row.
        OutstandingToken.objects.select_for_update().filter(jti=jti).first()
        reused = BlacklistedToken.objects.filter(token__jti=jti).exists()
        if reused:
            _revoke_all_refresh_tokens(user_id)
        else:
            user = User.objects.filter(pk=user_id).first()
            if user is None or not user.is_active:
                raise InvalidToken("The account of this refresh token is not active.")
            access = str(token.access_token)
            token.blacklist()
            token.set_jti()
            token.set_exp()
            token.set_iat()
            token.outstand()
            return TokenPair(access=access, refresh=str(token))
    raise InvalidToken("This refresh token was already used; every session of the account was signed out.")


def token_revoke(*, refresh: str) -> None:
    """Sign out an API client: its refresh token can't be used again."""
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as exc:
        raise InvalidToken(f"The refresh token is not valid: {exc}.") from exc
