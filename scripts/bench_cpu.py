"""The CPU the benchmark reads from /proc: of Anju's workers, the database (found by its
listening port, whoever started it), the simulator and the load generator, sampled in short
intervals by a thread while the benchmark runs (scripts/bench_analysis.py turns the samples
into per-request and background figures).

Each process's CPU is the sum of its threads' run time (`/proc/PID/task/TID/schedstat`,
nanoseconds, rather than `/proc/PID/stat`'s 10 ms ticks, which are too coarse for a few
milliseconds per request over one-second slices), plus the CPU of its children that it has
reaped (`cutime` + `cstime`: PostgreSQL's backends, a restarted uvicorn worker). A counter
never goes back: a thread that ends keeps the run time last read for it.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def children(pid: int) -> list[int]:
    """A process's direct children (of all its threads); none if it is gone."""
    out: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def descendants(pid: int) -> list[int]:
    """A process's children, their children, and so on."""
    out, todo = [], children(pid)
    while todo:
        child = todo.pop()
        if child not in out:
            out.append(child)
            todo += children(child)
    return out


def command_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def _stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc stat file after the command name (field 3 is index 0)."""
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


@dataclass
class CpuCounter:
    """Cumulative CPU seconds of some processes and, with `tree`, of their descendants."""

    roots: list[int]
    tree: bool = True
    threads: dict[tuple[int, str], int] = field(default_factory=dict)  # ns last read
    reaped: dict[int, float] = field(default_factory=dict)  # children's CPU, seconds
    retired: int = 0  # ns of threads whose id was taken by a newer thread

    def pids(self) -> list[int]:
        out = list(dict.fromkeys(self.roots))
        if self.tree:
            for root in self.roots:
                out += [p for p in descendants(root) if p not in out]
        return out

    def read(self) -> float:
        live = self.pids()
        for pid in live:
            base = PROC / str(pid) / "task"
            try:
                tids = os.listdir(base)
            except OSError:
                continue
            for tid in tids:
                try:
                    ns = int((base / tid / "schedstat").read_text().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
                old = self.threads.get((pid, tid), 0)
                if ns < old:  # a new thread with an old id
                    self.retired += old
                self.threads[(pid, tid)] = ns
            fields = _stat_fields(PROC / str(pid) / "stat")
            if fields:
                self.reaped[pid] = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
        # a descendant that ended moves into its parent's reaped children: forget its threads
        gone = {pid for pid, _ in self.threads if pid not in live and pid not in self.roots}
        for key in [k for k in self.threads if k[0] in gone]:
            del self.threads[key]
        for pid in gone:
            self.reaped.pop(pid, None)
        return (sum(self.threads.values()) + self.retired) / 1e9 + sum(self.reaped.values())


# --- the database's processes, by their listening port -----------------------------------------


def _listening_inodes(port: int) -> dict[int, str]:
    """Socket inode -> local address of every TCP socket listening on `port`."""
    out: dict[int, str] = {}
    for name in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10 or parts[3] != "0A":  # 0A: LISTEN
                continue
            address, _, hex_port = parts[1].rpartition(":")
            if int(hex_port, 16) == port:
                out[int(parts[9])] = address
    return out


def pids_listening_on(port: int) -> list[int]:
    """The processes holding a socket that listens on `port` on this machine (its network
    namespace), topmost first: a process whose parent also holds it is left out, since it is
    counted as that parent's descendant. Processes we may not inspect are not found."""
    inodes = {f"socket:[{i}]" for i in _listening_inodes(port)}
    if not inodes:
        return []
    holders: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = os.listdir(entry / "fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(entry / "fd" / fd) in inodes:
                    holders.append(int(entry.name))
                    break
            except OSError:
                continue
    tops = []
    for pid in holders:
        fields = _stat_fields(PROC / str(pid) / "stat")
        parent = int(fields[1]) if fields else 0
        if parent not in holders:
            tops.append(pid)
    return sorted(tops)


def _local_addresses() -> set[str]:
    """This machine's own addresses (IPv4 from the routing table's LOCAL entries, IPv6 from
    its interfaces)."""
    out = {"127.0.0.1", "::1"}
    try:
        lines = (PROC / "net" / "fib_trie").read_text().splitlines()
    except OSError:
        lines = []
    for previous, line in itertools.pairwise(lines):
        if "/32 host LOCAL" in line:
            out.add(previous.split()[-1])
    try:
        for line in (PROC / "net" / "if_inet6").read_text().splitlines():
            raw = line.split()[0]
            out.add(str(ipaddress.ip_address(int(raw, 16))))
    except (OSError, ValueError, IndexError):
        pass
    return out


def uri_hosts(uri: str) -> list[tuple[str, int]]:
    """(host, port) of each server a mongodb:// URI names (none for mongodb+srv://, whose
    servers come from DNS and are taken as remote)."""
    if not uri.startswith("mongodb://"):
        return []
    rest = uri[len("mongodb://") :].split("/", 1)[0].split("?", 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    out = []
    for host in rest.split(","):
        host = unquote(host)
        if host.startswith("["):  # [::1]:27017
            name, _, tail = host[1:].partition("]")
            port = tail.lstrip(":")
        elif host.endswith(".sock"):
            continue
        else:
            name, _, port = host.partition(":")
        out.append((name, int(port) if port else 27017))
    return out


def is_local(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    local = _local_addresses()
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_loopback or str(address) in local:
            return True
    return False


def local_pids_of_uri(uri: str) -> tuple[list[int], str]:
    """The processes serving a MongoDB URI on this machine, and how they were found (or why
    none were)."""
    hosts = uri_hosts(uri)
    if not hosts:
        return [], "not measured: the URI names no host and port on this machine"
    for host, port in hosts:
        if not is_local(host):
            continue
        pids = pids_listening_on(port)
        if pids:
            names = ", ".join(f"{command_name(p)} (pid {p})" for p in pids)
            return pids, f"{names}, listening on port {port}, and its child processes"
        return [], f"not measured: nothing this user can see listens on port {port}"
    return [], "not measured: the database runs on another machine"


# --- sampling --------------------------------------------------------------------------------


Sample = tuple[float, dict[str, float]]
"""(time.monotonic(), cumulative CPU seconds per group)."""


class Sampler:
    """Reads every group's CPU every `interval` seconds in a thread, and on demand
    (`sample_now()`, at the edges of a measured window); keeps all samples."""

    def __init__(self, groups: dict[str, CpuCounter], interval: float = 0.5) -> None:
        self.groups = groups
        self.interval = interval
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)

    def sample_now(self) -> Sample:
        with self._lock:
            sample = (time.monotonic(), {n: c.read() for n, c in self.groups.items()})
            self.samples.append(sample)
            return sample

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_now()

    def start(self) -> None:
        self.sample_now()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def between(self, start: float, end: float) -> list[Sample]:
        """The samples from the last one at or before `start` to the first at or after
        `end` (the edges themselves when they were sampled)."""
        with self._lock:
            samples = list(self.samples)
        first = max((i for i, s in enumerate(samples) if s[0] <= start), default=0)
        last = min((i for i, s in enumerate(samples) if s[0] >= end), default=len(samples) - 1)
        return samples[first : last + 1]
