"""`python -m devstack.ferretdb_build`: builds FerretDB now (unless MONGODB_URI is set), so a
test run shows the build's output instead of a silent wait inside a fixture."""

from __future__ import annotations

import os

from devstack.ferretdb import build

if __name__ == "__main__":
    if not os.environ.get("MONGODB_URI"):
        print(f"FerretDB: {build()}")
