"""Signing-key rotation (`anju rotate-jwt-key`).

Every PEM in ANJU_JWT_KEYS_DIR verifies access tokens; the newest private key signs
(app/tokens.py). Rotating writes a new private key and retires the older private keys to
their public halves: they can no longer sign, and they still verify the tokens already
issued with them until those expire (ANJU_ACCESS_TOKEN_TTL_S, 15 minutes by default). A
worker reads the directory when it starts, so a rolling restart follows a rotation; until a
worker restarts it keeps signing with the key it loaded, which every restarted worker still
verifies. `--prune` removes the retired keys older than twice the token lifetime.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.tokens import generate_key_file


@dataclass
class Rotation:
    new_key: Path
    retired: list[Path] = field(default_factory=list)
    pruned: list[Path] = field(default_factory=list)


def _is_private(path: Path) -> bool:
    return b"PRIVATE KEY" in path.read_bytes()


def _retire(path: Path) -> None:
    """Replaces a private key file by its public half (written aside, then renamed)."""
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    aside = path.with_suffix(".pem.tmp")
    aside.write_bytes(public)
    aside.chmod(0o644)
    os.replace(aside, path)


def rotate(directory: Path, *, prune_after_s: float | None = None) -> Rotation:
    before = sorted(directory.glob("*.pem")) if directory.is_dir() else []
    rotation = Rotation(new_key=generate_key_file(directory))
    for path in before:
        if _is_private(path):
            _retire(path)
            rotation.retired.append(path)
        elif prune_after_s is not None and time.time() - path.stat().st_mtime > prune_after_s:
            path.unlink()
            rotation.pruned.append(path)
    return rotation
