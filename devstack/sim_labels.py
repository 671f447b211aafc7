"""Reading a device's label at the simulator (GET /sim/devices/{id}/label), as the landlord
holding the device reads it: the demo loader, the workload and the tests bind devices with
the claim code printed there, never through a back door into Anju."""

from __future__ import annotations

import httpx


def claim_code(http: httpx.Client, sim_url: str, device_id: str) -> str:
    """The claim code on `device_id`'s label."""
    response = http.get(f"{sim_url}/sim/devices/{device_id}/label")
    response.raise_for_status()
    code: str = response.json()["claimCode"]
    return code
