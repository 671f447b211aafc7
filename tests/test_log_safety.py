"""Logs carry no personal data or secrets: the hostile inputs of the suite (wrong and malformed
log-ins and sign-ups, ID numbers valid, invalid and mistyped, police look-ups, webhooks, and
every mutation with generated variables) are sent with passwords and ID numbers made for this
test, then Anju's log is scanned for them. What one log line may hold is decided in one place,
app/log_safety.py, whose rules are checked here too."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.log_safety import RedactingFilter, error_fields, redact
from tests.conftest import Stack
from tests.lease_support import REGISTER_OCCUPANT, id_number, make_home, person, start_lease
from tests.support import LOG_IN, SIGN_UP, Api, next_phone
from tests.test_hostile_input import INTROSPECT, Generator, _gql_type

PASSWORDS = [f"pw-{uuid.uuid4().hex}" for _ in range(8)]
ID_NUMBERS = [id_number(region="110101", born=f"198{n}0101") for n in range(6)]
RESIDENTS = """query($f: ResidentFilter!) { residents(filter: $f, reason: "日志检查") {
  totalCount } }"""
CHANGE_PASSWORD = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
  userErrors { code } } }"""


def _log_since(stack: Stack, start: int) -> str:
    with open(stack.workdir / "anju.log", "rb") as log:
        log.seek(start)
        return log.read().decode(errors="replace")


def test_hostile_inputs_leave_no_password_or_id_number_in_the_log(
    api: Api, stack: Stack, http: httpx.Client
) -> None:
    start = (stack.workdir / "anju.log").stat().st_size
    landlord, police = api.caller("LANDLORD"), api.caller("POLICE")
    phones = [landlord.phone or "", next_phone()]
    anonymous = api.anonymous()
    answers: list[dict[str, Any]] = []
    # given log-ins with wrong passwords, and with variables graphql-core cannot coerce
    answers.append(
        anonymous.post(LOG_IN, {"input": {"phone": phones[0], "password": PASSWORDS[0]}})
    )
    answers.append(
        anonymous.post(LOG_IN, {"input": {"phone": phones[1], "password": PASSWORDS[1]}})
    )
    answers.append(
        anonymous.post(
            LOG_IN, {"input": {"phone": phones[0], "password": PASSWORDS[2], "x": PASSWORDS[3]}}
        )
    )
    answers.append(
        anonymous.post(LOG_IN, {"input": {"phone": 13900000000, "password": [PASSWORDS[4]]}})
    )
    answers.append(
        anonymous.post(
            SIGN_UP,
            {
                "input": {
                    "role": PASSWORDS[5],
                    "name": "x",
                    "phone": phones[1],
                    "password": PASSWORDS[5],
                }
            },
        )
    )
    answers.append(
        landlord.post(
            CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORDS[6], "newPassword": "short"}}
        )
    )
    # and ID numbers registered, registered twice, invalid, and of the wrong shape
    home = make_home(landlord, doors=False)
    lease = start_lease(
        landlord, home.room, api.caller("TENANT"), occupants=[person(number=ID_NUMBERS[0])]
    )
    other = api.caller("LANDLORD")
    other_lease = start_lease(other, make_home(other, doors=False).room, api.caller("TENANT"))
    for occupant in (
        person(number=ID_NUMBERS[0]),
        person(number=ID_NUMBERS[1][:-1] + ("0" if ID_NUMBERS[1][-1] != "0" else "1")),
        {**person(number=ID_NUMBERS[2]), "extra": ID_NUMBERS[3]},
        {"name": "王", "idNumber": [ID_NUMBERS[4]], "phone": phones[1]},
    ):
        answers.append(
            other.post(
                REGISTER_OCCUPANT, {"input": {"leaseId": other_lease["id"], "occupant": occupant}}
            )
        )
    assert lease["id"]
    # and police look-ups by ID number, well-formed and not
    answers.append(police.post(RESIDENTS, {"f": {"idNumber": ID_NUMBERS[0]}}))
    answers.append(
        police.post(RESIDENTS, {"f": {"idNumber": ID_NUMBERS[5], "bogus": PASSWORDS[7]}})
    )
    # and webhooks carrying them
    for hook in ("gateway", "payments"):
        http.post(
            f"{api.base_url}/webhooks/{hook}",
            json={"eventId": ID_NUMBERS[5], "password": PASSWORDS[7]},
            headers={"x-anju-timestamp": "1", "x-anju-signature": f"sha256={PASSWORDS[7]}"},
        )
    # and every mutation with generated variables drawn from the same secrets
    _every_mutation(api, {"LANDLORD": landlord, "POLICE": police, "anonymous": anonymous})
    # then no answer echoes a password back
    for body in answers:
        assert not any(p in str(body) for p in PASSWORDS), body
    # and the log holds none of the passwords, ID numbers or phones sent
    log = _log_since(stack, start)
    leaked = [s for s in (*PASSWORDS, *ID_NUMBERS, *phones) if s and s in log]
    assert leaked == [], log[-2000:]


def _every_mutation(api: Api, callers: dict[str, Any]) -> None:
    secrets = st.sampled_from([*PASSWORDS, *ID_NUMBERS])
    schema = api.admin().data(INTROSPECT)["__schema"]

    class Secretive(Generator):
        def _base(self, t: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
            if t["kind"] == "SCALAR" and t.get("name") in {"String", "ID"}:
                return secrets
            return super()._base(t, depth)

    gen = Secretive(schema, [])
    for field in schema["mutationType"]["fields"]:
        args = field["args"]
        decl = ", ".join(f"${a['name']}: {_gql_type(a['type'])}" for a in args)
        call = ", ".join(f"{a['name']}: ${a['name']}" for a in args)
        document = f"mutation({decl}) {{ {field['name']}({call}) {{ __typename }} }}"

        variables = st.fixed_dictionaries({a["name"]: gen.for_type(a["type"]) for a in args})
        _sender(callers, document, variables)()


def _sender(
    callers: dict[str, Any], document: str, variables: st.SearchStrategy[dict[str, Any]]
) -> Any:
    @settings(
        max_examples=3,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(variables=variables, who=st.sampled_from(sorted(callers)))
    def send(variables: dict[str, Any], who: str) -> None:
        callers[who].post(document, variables)

    return send


def test_one_place_decides_what_an_error_log_holds() -> None:
    # given an unexpected error whose message quotes personal data (as a duplicate key does)
    try:
        raise ValueError(f"dup key: {{ id_number: {ID_NUMBERS[0]!r}, password: {PASSWORDS[0]!r} }}")
    except ValueError as error:
        fields = error_fields(
            code="INTERNAL_SERVER_ERROR",
            request_id="ab12",
            operation="RegisterOccupant",
            path=["registerOccupant", "occupant"],
            error=error,
        )
    # then the log's fields are the code, request id, operation, path and where it was raised
    assert set(fields) == {"code", "requestId", "operation", "path", "error"}
    assert fields["error"].startswith("ValueError ")
    assert "test_log_safety.py" in fields["error"]
    assert ID_NUMBERS[0] not in str(fields) and PASSWORDS[0] not in str(fields)


def test_every_log_line_is_scrubbed() -> None:
    # given a log line quoting a password, an ID number, a phone, a card and a token
    line = (
        f"input={{'password': '{PASSWORDS[0]}', 'idNumber': '{ID_NUMBERS[0]}'}} "
        f"phone 13912345678 card 1234567812345678 Bearer eyJhbGciOi.eyJzdWIi.sig"
    )
    record = logging.LogRecord("anju", logging.ERROR, __file__, 1, "%s", (line,), None)
    # when it goes through the filter every handler has
    RedactingFilter().filter(record)
    # then none of them is left
    shown = record.getMessage()
    for secret in (PASSWORDS[0], ID_NUMBERS[0], "13912345678", "1234567812345678", "eyJ"):
        assert secret not in shown
    # and an access log's query string, percent-encoded, is read as what it says
    access = f"GET /graphql?variables=%7B%22f%22%3A%7B%22idNumber%22%3A%22{ID_NUMBERS[1]}%22%7D%7D"
    assert ID_NUMBERS[1] not in redact(access)
    assert (
        redact("code=INTERNAL_SERVER_ERROR operation=Me")
        == "code=INTERNAL_SERVER_ERROR operation=Me"
    )
