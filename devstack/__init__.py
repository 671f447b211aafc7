"""Development and test tooling: FerretDB, the simulator and Anju as local processes.

Never imported by app/ (production runs none of this)."""
