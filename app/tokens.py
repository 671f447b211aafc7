"""Access tokens: EdDSA (Ed25519) JWTs, following RFC 8725.

- The algorithm is pinned (EdDSA); `none`, HS256 and anything else are refused, whatever
  the header says. The `kid` header only selects a key from our own set.
- Every claim is required: iss, aud, sub, role, scope, iat, exp, jti, and `typ` in the header
  is "at+jwt" so that no other token of ours (or anyone's) passes as an access token.
- Keys rotate: every PEM in the key directory verifies; the newest by file name signs.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.settings import Settings, SettingsError

log = logging.getLogger("anju.tokens")

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
LEEWAY_S = 5
# tokens whose signature and claims this process has checked, until they expire: a token is
# sent with every request, and an Ed25519 check is a good part of a small request's CPU
VERIFIED_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """The access token cannot be trusted; the message is safe to log, not to show."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey | None
    public: Ed25519PublicKey

    def jwk(self) -> dict[str, str]:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": x,
            "kid": self.kid,
            "alg": ALGORITHM,
            "use": "sig",
        }


def _load_dir(directory: Path) -> list[SigningKey]:
    keys: list[SigningKey] = []
    for path in sorted(directory.glob("*.pem")):
        data = path.read_bytes()
        kid = path.stem
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise SettingsError(f"{path} is not an Ed25519 private key")
            keys.append(SigningKey(kid, private, private.public_key()))
        else:
            public = serialization.load_pem_public_key(data)
            if not isinstance(public, Ed25519PublicKey):
                raise SettingsError(f"{path} is not an Ed25519 public key")
            keys.append(SigningKey(kid, None, public))
    return keys


def generate_key_file(directory: Path) -> Path:
    """A new Ed25519 private key named by its creation time (so the newest sorts last)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = directory / f"{stamp}-{secrets.token_hex(4)}.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


class KeySet:
    def __init__(self, keys: list[SigningKey], settings: Settings) -> None:
        signers = [k for k in keys if k.private is not None]
        if not signers:
            raise SettingsError("no Ed25519 private key to sign access tokens with")
        self._by_kid = {k.kid: k for k in keys}
        self._signer = signers[-1]
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = settings.access_token_ttl_s
        self._verified: OrderedDict[str, tuple[dict[str, Any], float]] = OrderedDict()

    @classmethod
    def load(cls, settings: Settings) -> KeySet:
        directory = settings.jwt_keys_dir
        keys = _load_dir(directory) if directory.is_dir() else []
        if not any(k.private for k in keys):
            if settings.production:
                raise SettingsError(f"production needs an Ed25519 private key in {directory}")
            path = generate_key_file(directory)
            log.warning("generated a development signing key at %s", path)
            keys = _load_dir(directory)
        return cls(keys, settings)

    @property
    def ttl(self) -> int:
        return self._ttl

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self._by_kid.values()]}

    def issue(self, *, account_id: str, role: str, scope: dict[str, str], session_id: str) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": account_id,
            "role": role,
            "scope": scope,
            "sid": session_id,
            "iat": now,
            "nbf": now,
            "exp": now + dt.timedelta(seconds=self._ttl),
            "jti": secrets.token_urlsafe(16),
        }
        assert self._signer.private is not None
        return jwt.encode(
            claims,
            self._signer.private,
            algorithm=ALGORITHM,
            headers={"kid": self._signer.kid, "typ": TOKEN_TYPE},
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token this key set signed, in date, for this issuer and audience;
        raises InvalidToken. The same token string checked before is answered from memory
        until its `exp` (the session check that follows is never cached here)."""
        known = self._verified.get(token)
        if known is not None:
            claims, expires = known
            if time.time() < expires:
                return claims
            del self._verified[token]
        claims = self._verify(token)
        self._verified[token] = (claims, float(claims["exp"]))
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        if len(token) > 4096:
            raise InvalidToken("token too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"bad header: {exc}") from exc
        if header.get("alg") != ALGORITHM or header.get("typ") != TOKEN_TYPE:
            raise InvalidToken("wrong alg or typ")
        kid = header.get("kid")
        key = self._by_kid.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown kid")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub", "jti", "nbf"],
                    "strict_aud": True,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if not isinstance(claims.get("role"), str) or not isinstance(claims.get("scope"), dict):
            raise InvalidToken("role or scope missing")
        return claims
