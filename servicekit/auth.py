"""JWT bearer authentication (HS256) with the platform's roles; `operator` may do everything."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.problems import Problem

ROLES = ("operator", "board", "assessor", "lab", "integrator")
ISSUER = "schuldenlab"
BEARER_SCHEME = "HTTPBearer"
# Where a token is optional it is read by the same scheme under another name, so the OpenAPI document can tell
# those routes apart; servicekit.openapi turns the name into `security: [{}, {"HTTPBearer": []}]`.
OPTIONAL_BEARER_SCHEME = "HTTPBearerOptional"
_bearer = HTTPBearer(auto_error=False, scheme_name=BEARER_SCHEME,
                     description="A token from `schuldenlab token --role ROLE`")
_optional_bearer = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER_SCHEME)


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has_any(self, roles: tuple[str, ...]) -> bool:
        return "operator" in self.roles or bool(self.roles.intersection(roles))


def issue_token(key: str, *, role: str, subject: str | None = None, ttl_seconds: int = 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if ttl_seconds <= 0:
        raise ValueError(f"a token must live a positive number of seconds, not {ttl_seconds}")
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject or role, "roles": [role], "iat": now, "exp": now + ttl_seconds,
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="HS256")


def verify_token(key: str, token: str) -> Principal:
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Problem(401, "The access token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Problem(401, f"The access token is not valid: {exc}") from exc
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Problem(401, "The access token carries no roles")
    # Matched exactly, here once for every endpoint: "OPERATOR" or "superuser" is no role of the platform. A
    # token without one is refused even where any token may read, so such a token admits nothing anywhere.
    known = frozenset(role for role in roles if role in ROLES)
    if not known:
        raise Problem(403, f"The access token carries none of the platform's roles ({', '.join(ROLES)})")
    return Principal(subject=str(claims["sub"]), roles=known)


def current_principal(request: Request,
                      credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    if credentials is None:
        raise Problem(401, "This endpoint needs a bearer token (Authorization: Bearer <JWT>)")
    return verify_token(request.app.state.signing_key, credentials.credentials)


def optional_principal(request: Request,
                       credentials: HTTPAuthorizationCredentials | None = Depends(_optional_bearer),
                       ) -> Principal | None:
    """For public endpoints that show more to some roles (e.g. the contact person to `operator`)."""
    if credentials is None:
        return None
    return verify_token(request.app.state.signing_key, credentials.credentials)


def require_role(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits `operator` and any of `roles`; 401 without a valid token, 403 otherwise."""

    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has_any(roles):
            wanted = " or ".join(("operator", *roles))
            raise Problem(403, f"This needs the role {wanted}; the token has {', '.join(sorted(principal.roles))}")
        return principal

    return dependency
