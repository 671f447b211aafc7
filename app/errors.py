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


# What each code means, for the API reference's error table (`make docs`, scripts/api_docs.py);
# tests/test_api_docs.py checks that every code has a line. Written for an app developer.
MEANINGS: dict[str, str] = {
    Code.UNAUTHENTICATED: "No valid access token: sign in, or refresh the session (GraphQL error).",
    Code.FORBIDDEN: "The caller's role may not use this operation (GraphQL error).",
    Code.NOT_FOUND: "No such object, or another owner's: the two answers are the same.",
    Code.INTERNAL_SERVER_ERROR: "A bug: the message is 'Unexpected error.' with a request id for "
    "the log.",
    Code.SERVICE_UNAVAILABLE: "The database or a device platform is down: try again later.",
    Code.RATE_LIMITED: "Too many attempts; retryAfterSeconds (where given) says when to try again.",
    Code.INVALID_ID: "Not a global ID of the expected type.",
    Code.INVALID_CURSOR: "A cursor this connection did not give out (or from another filter).",
    Code.INVALID_ARGUMENT: "A value of the wrong form (the message says which); also an "
    "argument combination that is not allowed.",
    Code.COST_LIMIT: "The request could return more objects than ANJU_COST_LIMIT: ask for "
    "smaller pages or fewer nested lists.",
    Code.REQUIRED: "A value is missing or blank.",
    Code.TOO_LONG: "Text over its limit (the field's description gives it).",
    Code.TOO_SHORT: "Text under its minimum (a name search of one letter).",
    Code.OUT_OF_RANGE: "A number, date or count outside its allowed range.",
    Code.DUPLICATE: "Already there: a room number in the property, a device, an ID number twice.",
    Code.INVALID_PHONE: "Not a mainland mobile number (11 digits, +86 allowed).",
    Code.PHONE_TAKEN: "The phone already has an account.",
    Code.WEAK_PASSWORD: "Under 10 characters.",
    Code.INVALID_ROLE: "A role that may not be chosen here (signUp takes LANDLORD or TENANT).",
    Code.INVALID_CREDENTIALS: "Wrong phone or password (one answer for both).",
    Code.TOO_MANY_ATTEMPTS: "Too many failed log-ins: try later, or log in with a code.",
    Code.INVALID_REFRESH_TOKEN: "The refresh token is unknown, used, expired or of an ended "
    "session.",
    Code.INVALID_PHONE_CODE: "The SMS code is wrong, expired, used, or for another purpose.",
    Code.PHONE_VERIFICATION_REQUIRED: "The phone was never confirmed: log in with a code.",
    Code.PASSWORD_REQUIRED: "A first log-in with a code of an account whose phone is not "
    "confirmed (one an ADMIN made) needs the password too.",
    Code.ACCOUNT_DISABLED: "An ADMIN turned the account off.",
    Code.CANNOT_CHANGE_OWN_ACCOUNT: "An ADMIN may not disable or move their own account.",
    Code.DEVICE_NOT_FOUND: "The device gateway no longer knows the device.",
    Code.DEVICE_OFFLINE: "The device is not connected to the gateway.",
    Code.DEVICE_ERROR: "The device answered with an error or an unusable result.",
    Code.DEVICE_KIND_MISMATCH: "No longer answered (registerDevice answers DEVICE_CLAIM_FAILED).",
    Code.DEVICE_CLAIM_FAILED: "Unknown device, another kind, a wrong claim code or another "
    "property's device: one answer for all.",
    Code.ROOM_REQUIRED: "A smoke detector needs a room.",
    Code.ROOM_NOT_VACANT: "Only a VACANT room may be published or leased.",
    Code.ALREADY_PUBLISHED: "The room already has a live listing.",
    Code.LISTING_UNPUBLISHED: "The listing was taken down: publish a new one.",
    Code.NEAR_REQUIRED: "Sorting by DISTANCE needs filter.near.",
    Code.INVALID_RANGE: "A minimum above its maximum.",
    Code.INVALID_ID_NUMBER: "Not a valid resident ID number (18 characters, checksum).",
    Code.ROOM_OCCUPIED: "The room is let: end its lease first.",
    Code.ALREADY_REGISTERED: "This person is already registered there.",
    Code.INVALID_DATE_RANGE: "Dates out of order, or a span over its limit.",
    Code.LEASE_NOT_ACTIVE: "The lease has ended.",
    Code.TENANT_NOT_FOUND: "No longer answered: a lease is an invitation by phone.",
    Code.NOT_INVITED: "No longer answered: a lease sent to another phone is NOT_FOUND.",
    Code.INVITATION_EXPIRED: "The invitation is older than ANJU_LEASE_INVITATION_TTL_S: ask "
    "the landlord to resend it.",
    Code.ALREADY_ACCEPTED: "The lease was already accepted.",
    Code.LEASE_NOT_ACCEPTED: "The tenant has not accepted the lease yet.",
    Code.BUSY: "Another request is changing the same object right now: try again.",
    Code.AMOUNT_EXCEEDS_BALANCE: "More than is owed on the invoice.",
    Code.INVALID_AMOUNT: "An amount under 1 fen (or over its limit).",
    Code.INVALID_METHOD: "A payment method not accepted here (the field says which are).",
    Code.INVOICE_NOT_PAYABLE: "The invoice is PAID or VOID.",
    Code.IDEMPOTENCY_CONFLICT: "The idempotency key was used for a different payment.",
    Code.PAYMENT_PROVIDER_ERROR: "The payment provider failed or did not answer: nothing was "
    "charged; try again.",
    Code.PAYMENT_DECLINED: "The payment provider declined the payment.",
    Code.ALREADY_REMINDED: "The tenant was reminded of this invoice today.",
    Code.AGREEMENT_INACTIVE: "An autopay charge failed: the wallet no longer honours the "
    "agreement.",
    Code.AUTOPAY_STOPPED: "An autopay charge never sent: autopay stopped first.",
    Code.NOTHING_TO_WAIVE: "The invoice has no late fee left to waive.",
    Code.READING_OUT_OF_ORDER: "A reading must be later than the meter's last one.",
    Code.READING_BELOW_PREVIOUS: "Lower than the last reading (unless replacement: true).",
    Code.LEASE_ACTIVE: "Settle a deposit after endLease.",
    Code.ALREADY_SETTLED: "The deposit was already settled.",
    Code.DEPOSIT_PAYMENT_PENDING: "A deposit payment awaits the provider: settle once it is "
    "confirmed.",
    Code.DEDUCTIONS_EXCEED_DEPOSIT: "The deductions add up to more than is left of the deposit.",
    Code.NOT_SETTLED: "The deposit has not been settled yet.",
    Code.ALREADY_DISPUTED: "The settlement was already disputed.",
    Code.DISPUTE_WINDOW_CLOSED: "The time to dispute the settlement is over.",
    Code.REASON_REQUIRED: "POLICE must give a reason (a case reference).",
    Code.NEW_REASON_REQUIRED: "This reason has read as many results as one may "
    "(ANJU_POLICE_RESULTS_PER_REASON): give a new one.",
    Code.INVALID_TRANSITION: "The object's status does not allow this step (of two at once, "
    "one wins).",
    Code.ROOM_ARCHIVED: "The room is archived: it no longer changes.",
    Code.PROPERTY_ARCHIVED: "The property is archived: it no longer changes.",
    Code.LEASE_RUNNING: "A lease runs on it: end it first.",
    Code.PURPOSE_NOT_ALLOWED: "The caller's role may not upload for this purpose.",
    Code.UNSUPPORTED_TYPE: "Only image/jpeg, image/png and image/webp.",
    Code.TOO_LARGE: "The file is over its size limit.",
    Code.UPLOAD_EXPIRED: "The upload URL expired: create a new upload.",
    Code.UPLOAD_USED: "The upload is already attached to something.",
    Code.UPLOAD_NOT_RECEIVED: "Nothing was PUT to the upload URL yet.",
    Code.WRONG_PURPOSE: "The upload was created for another purpose.",
    Code.NOT_AN_IMAGE: "The bytes are not a JPEG, PNG or WebP that decodes.",
    Code.TYPE_MISMATCH: "The bytes are of another type than the upload declared.",
    Code.TOO_MANY_PIXELS: "The image has too many pixels.",
    Code.TOO_MANY_PHOTOS: "Over the number of photos allowed.",
    Code.ALREADY_RATED: "The request was already rated.",
    Code.HAZARD_REQUIRED: "A checklist item marked failed has no hazard naming it "
    "(recordInspection): every failed item opens at least one.",
    Code.ITEM_NOT_FAILED: "A hazard names a checklist item that was not marked failed "
    "(recordInspection).",
    Code.TOO_MANY_ROWS: "More rows than ANJU_HAZARD_EXPORT_MAX_ROWS (hazardsExport): narrow the "
    "place or the dates.",
}


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
