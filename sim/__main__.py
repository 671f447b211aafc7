"""`python -m sim`: the simulator on 127.0.0.1:SIM_PORT, sending webhooks to SIM_ANJU_URL."""

from __future__ import annotations

import logging

import uvicorn

from app.settings import load_settings
from sim.app import create_app, default_anju_url


def main() -> None:
    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("sim.webhooks").info("webhooks go to %s", default_anju_url(settings))
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=settings.sim_port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
