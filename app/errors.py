"""The domain errors services raise, and the table of stable codes clients see.

    AnjuError                      code, message, field path
     ├── UserInputError            invalid input or a business rule: a mutation's `userErrors`
     │    ├── NotFoundError        NOT_FOUND: missing, or another owner's (the same answer)
     │    └── ValidationErrors     several UserInputErrors collected for one input
     ├── UnauthenticatedError      UNAUTHENTICATED: sign-in needed (GraphQL error)
     ├── ForbiddenError            FORBIDDEN: the role may not do this (GraphQL error)
     ├── RateLimitedError          RATE_LIMITED (GraphQL error, or userErrors in a mutation)
     └── UnavailableError          SERVICE_UNAVAILABLE: the database or a device platform is down

Anything else that escapes a resolver is a bug: clients read "Unexpected error." with
INTERNAL_SERVER_ERROR, and the log has the traceback with the request id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class Code:
    """Stable error codes. Clients switch on these, so never rename one."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_ID = "INVALID_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    COST_LIMIT = "COST_LIMIT"  # the request could return more objects than ANJU_COST_LIMIT
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TOO_SHORT = "TOO_SHORT"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    DUPLICATE = "DUPLICATE"
    # accounts
    INVALID_PHONE = "INVALID_PHONE"
    PHONE_TAKEN = "PHONE_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_ROLE = "INVALID_ROLE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    INVALID_PHONE_CODE = "INVALID_PHONE_CODE"
    PHONE_VERIFICATION_REQUIRED = "PHONE_VERIFICATION_REQUIRED"
    PASSWORD_REQUIRED = "PASSWORD_REQUIRED"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
    CANNOT_CHANGE_OWN_ACCOUNT = "CANNOT_CHANGE_OWN_ACCOUNT"
    # properties, rooms, devices, listings
    DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"  # registerDevice answers DEVICE_CLAIM_FAILED
    DEVICE_OFFLINE = "DEVICE_OFFLINE"
    DEVICE_ERROR = "DEVICE_ERROR"
    DEVICE_KIND_MISMATCH = "DEVICE_KIND_MISMATCH"  # no longer answered: DEVICE_CLAIM_FAILED
    # unknown device, another kind, wrong claim code or another property's: one answer
    DEVICE_CLAIM_FAILED = "DEVICE_CLAIM_FAILED"
    ROOM_REQUIRED = "ROOM_REQUIRED"
    ROOM_NOT_VACANT = "ROOM_NOT_VACANT"
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"
    LISTING_UNPUBLISHED = "LISTING_UNPUBLISHED"
    NEAR_REQUIRED = "NEAR_REQUIRED"
    INVALID_RANGE = "INVALID_RANGE"
    # leases and occupants
    INVALID_ID_NUMBER = "INVALID_ID_NUMBER"
    ROOM_OCCUPIED = "ROOM_OCCUPIED"
    ALREADY_REGISTERED = "ALREADY_REGISTERED"
    INVALID_DATE_RANGE = "INVALID_DATE_RANGE"
    LEASE_NOT_ACTIVE = "LEASE_NOT_ACTIVE"
    TENANT_NOT_FOUND = "TENANT_NOT_FOUND"  # no longer answered: a lease is an invitation
    NOT_INVITED = "NOT_INVITED"
    INVITATION_EXPIRED = "INVITATION_EXPIRED"
    ALREADY_ACCEPTED = "ALREADY_ACCEPTED"
    LEASE_NOT_ACCEPTED = "LEASE_NOT_ACCEPTED"
    BUSY = "BUSY"  # another request is changing the same lease right now: try again
    # rent
    AMOUNT_EXCEEDS_BALANCE = "AMOUNT_EXCEEDS_BALANCE"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_METHOD = "INVALID_METHOD"
    INVOICE_NOT_PAYABLE = "INVOICE_NOT_PAYABLE"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    PAYMENT_PROVIDER_ERROR = "PAYMENT_PROVIDER_ERROR"
    PAYMENT_DECLINED = "PAYMENT_DECLINED"
    ALREADY_REMINDED = "ALREADY_REMINDED"
    AGREEMENT_INACTIVE = "AGREEMENT_INACTIVE"  # an autopay charge's agreement was not active
    AUTOPAY_STOPPED = "AUTOPAY_STOPPED"  # an autopay charge never sent: autopay stopped first
    NOTHING_TO_WAIVE = "NOTHING_TO_WAIVE"
    READING_OUT_OF_ORDER = "READING_OUT_OF_ORDER"
    READING_BELOW_PREVIOUS = "READING_BELOW_PREVIOUS"
    LEASE_ACTIVE = "LEASE_ACTIVE"  # settle a deposit after endLease
    ALREADY_SETTLED = "ALREADY_SETTLED"
    DEPOSIT_PAYMENT_PENDING = "DEPOSIT_PAYMENT_PENDING"
    DEDUCTIONS_EXCEED_DEPOSIT = "DEDUCTIONS_EXCEED_DEPOSIT"
    NOT_SETTLED = "NOT_SETTLED"
    ALREADY_DISPUTED = "ALREADY_DISPUTED"
    DISPUTE_WINDOW_CLOSED = "DISPUTE_WINDOW_CLOSED"
    # police
    REASON_REQUIRED = "REASON_REQUIRED"
    # this reason has read as many results as one reason may (ANJU_POLICE_RESULTS_PER_REASON)
    NEW_REASON_REQUIRED = "NEW_REASON_REQUIRED"
    # alarms (and repair requests)
    INVALID_TRANSITION = "INVALID_TRANSITION"
    # rooms and properties that change
    ROOM_ARCHIVED = "ROOM_ARCHIVED"
    PROPERTY_ARCHIVED = "PROPERTY_ARCHIVED"
    LEASE_RUNNING = "LEASE_RUNNING"
    # uploads and photos (the image codes are app/images.py's reasons)
    PURPOSE_NOT_ALLOWED = "PURPOSE_NOT_ALLOWED"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    TOO_LARGE = "TOO_LARGE"
    UPLOAD_EXPIRED = "UPLOAD_EXPIRED"
    UPLOAD_USED = "UPLOAD_USED"
    UPLOAD_NOT_RECEIVED = "UPLOAD_NOT_RECEIVED"
    WRONG_PURPOSE = "WRONG_PURPOSE"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    TOO_MANY_PIXELS = "TOO_MANY_PIXELS"
    TOO_MANY_PHOTOS = "TOO_MANY_PHOTOS"
    # repair requests
    ALREADY_RATED = "ALREADY_RATED"
    # fire-safety inspections and hazards
    HAZARD_REQUIRED = "HAZARD_REQUIRED"  # a failed checklist item with no hazard for it
    ITEM_NOT_FAILED = "ITEM_NOT_FAILED"  # a hazard of an item the findings did not fail
    TOO_MANY_ROWS = "TOO_MANY_ROWS"  # an export over ANJU_HAZARD_EXPORT_MAX_ROWS: narrow it


class AnjuError(Exception):
    """Base of every error a service raises on purpose."""

    code: str = Code.INTERNAL_SERVER_ERROR

    def __init__(
        self, message: str, *, code: str | None = None, field: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field: list[str] | None = list(field) if field is not None else None

    @property
    def extensions(self) -> dict[str, object]:
        """graphql-core copies this into the GraphQL error, so clients see the code."""
        return {"code": self.code}


class UserInputError(AnjuError):
    """Bad input or a refused business rule; mutations report it in `userErrors`."""

    code = Code.INVALID_ARGUMENT


class NotFoundError(UserInputError):
    """The object does not exist, or belongs to someone else: callers cannot tell which."""

    code = Code.NOT_FOUND

    def __init__(self, what: str = "Object", *, field: Sequence[str] | None = None) -> None:
        super().__init__(f"{what} not found.", field=field)


class ValidationErrors(UserInputError):
    """Several problems with one input, reported together."""

    def __init__(self, errors: Iterable[UserInputError]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        super().__init__(
            first.message if first else "Invalid input.",
            code=first.code if first else Code.INVALID_ARGUMENT,
            field=first.field if first else None,
        )


class UnauthenticatedError(AnjuError):
    code = Code.UNAUTHENTICATED

    def __init__(self, message: str = "Sign in first.") -> None:
        super().__init__(message)


class ForbiddenError(AnjuError):
    code = Code.FORBIDDEN

    def __init__(self, message: str = "Your role may not do this.") -> None:
        super().__init__(message)


class RateLimitedError(AnjuError):
    code = Code.RATE_LIMITED


class UnavailableError(AnjuError):
    code = Code.SERVICE_UNAVAILABLE


class Collector:
    """Collects one error per input field, then raises them together."""

    def __init__(self) -> None:
        self.errors: list[UserInputError] = []

    def add(self, field: Sequence[str], code: str, message: str) -> None:
        self.errors.append(UserInputError(message, code=code, field=field))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationErrors(self.errors)
