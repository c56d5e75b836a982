"""A local stand-in for the user pool: signs and checks the JWTs the settings API expects.

RS256 like Cognito. The key pair is generated once per checkout and kept in ``.local-state/``
(git-ignored), so a token printed by ``practitioner-alerts token`` keeps working across runs
of ``serve`` until it expires.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_STATE_DIR = PROJECT_ROOT / ".local-state"
KEY_FILE = "settings-api-jwt-key.pem"

# What the template's JwtIssuer / JwtAudience parameters would be set to for this "user pool".
ISSUER = "https://practitioner-alerts.local/issuer"
AUDIENCE = "practitioner-alerts-settings-api"
CALENDARS_CLAIM = "calendars"  # the template's CalendarsClaim default: calendars one administers
VIEW_CALENDARS_CLAIM = "calendars_view"  # its ViewCalendarsClaim default: calendars one only sees
ALGORITHM = "RS256"
DEFAULT_LIFETIME_SECONDS = 12 * 3600


class InvalidToken(ValueError):
    """Missing, malformed, expired, or not signed by this checkout's key."""


@dataclass
class LocalTokenIssuer:
    state_dir: Path = DEFAULT_STATE_DIR
    issuer: str = ISSUER
    audience: str = AUDIENCE
    calendars_claim: str = CALENDARS_CLAIM
    view_calendars_claim: str = VIEW_CALENDARS_CLAIM
    _key: rsa.RSAPrivateKey | None = field(default=None, init=False, repr=False)

    @property
    def key(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            self._key = self._load_or_create_key()
        return self._key

    def issue_token(
        self,
        calendars: Sequence[str],
        *,
        view_calendars: Sequence[str] = (),
        subject: str = "local-practitioner",
        lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
        now: float | None = None,
    ) -> str:
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + lifetime_seconds,
            "jti": uuid.uuid4().hex,
            self.calendars_claim: list(calendars),
        }
        if view_calendars:
            # Absent rather than empty when unused, like a token issued before the claim existed.
            claims[self.view_calendars_claim] = list(view_calendars)
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, after the checks API Gateway's JWT authorizer makes."""
        try:
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return dict(claims)

    def _load_or_create_key(self) -> rsa.RSAPrivateKey:
        path = self.state_dir / KEY_FILE
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise InvalidToken(f"{path}: not an RSA private key")
            return loaded
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Write to a private temporary file and rename, so two processes starting together
        # never read half a key; the loser's key is simply replaced by the winner's.
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        temporary.replace(path)
        return key


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (names compared lower-case)."""
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def main_token(argv: Sequence[str] | None = None, issuer: LocalTokenIssuer | None = None) -> str:
    """``token --calendars cal-a --view-calendars cal-b``: a token that administers cal-a and may
    see cal-b (the CLI prints it last)."""
    parser = argparse.ArgumentParser(prog="practitioner-alerts token", description=main_token.__doc__)
    parser.add_argument(
        "--calendars", default="", help="calendars the holder administers, comma-separated: cal-a,cal-b"
    )
    parser.add_argument(
        "--view-calendars",
        default="",
        help="calendars the holder may only see (feed, pop-ups), comma-separated",
    )
    parser.add_argument("--subject", default="local-practitioner", help="the token's sub claim")
    parser.add_argument("--hours", type=float, default=DEFAULT_LIFETIME_SECONDS / 3600, help="lifetime")
    args = parser.parse_args(argv)
    calendars = _calendar_list(args.calendars)
    view_calendars = _calendar_list(args.view_calendars)
    if not calendars and not view_calendars:
        parser.error("name at least one calendar with --calendars or --view-calendars")
    return (issuer or LocalTokenIssuer()).issue_token(
        calendars,
        view_calendars=view_calendars,
        subject=args.subject,
        lifetime_seconds=int(args.hours * 3600),
    )


def _calendar_list(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def issue_token(calendars: Sequence[str], view_calendars: Sequence[str] = ()) -> str:
    """A token for ``calendars`` (administered) and ``view_calendars`` (only seen) from this
    checkout's local issuer."""
    return LocalTokenIssuer().issue_token(calendars, view_calendars=view_calendars)


def verify(token: str) -> dict[str, Any]:
    """The claims of a token from this checkout's local issuer; InvalidToken otherwise."""
    return LocalTokenIssuer().verify(token)
