"""`make demo-alarm`: while `make run` is up, sets off the first smoke detector of the demo
landlord's first property at the simulator, which sends `smoke.alarm` to Anju."""

from __future__ import annotations

import sys

import httpx

from app.settings import load_settings
from devstack.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, DemoClient

ROOMS = """{ myProperties(first: 5) { edges { node { name rooms(first: 50) { edges { node {
  number smokeDetectors { deviceId } } } } } } } }"""


def main() -> int:
    settings = load_settings()
    client = DemoClient(
        f"http://127.0.0.1:{settings.port}", f"http://127.0.0.1:{settings.sim_port}"
    )
    landlord = next(a for a in DEMO_ACCOUNTS if a.role == "LANDLORD")
    token = client.log_in(landlord.phone, DEMO_PASSWORD)
    if token is None:
        print("cannot log in as the demo landlord: is `make run` up?", file=sys.stderr)
        return 1
    for prop in client.gql(ROOMS, token=token)["myProperties"]["edges"]:
        for room in prop["node"]["rooms"]["edges"]:
            for detector in room["node"]["smokeDetectors"]:
                device = detector["deviceId"]
                answer = httpx.post(
                    f"http://127.0.0.1:{settings.sim_port}/sim/smoke/{device}/alarm",
                    json={"level": "smoke"},
                ).json()
                print(
                    f"smoke alarm from {device} ({prop['node']['name']} {room['node']['number']})"
                    f": Anju answered {answer.get('anjuStatus')}"
                )
                return 0
    print("the demo landlord has no smoke detector yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
