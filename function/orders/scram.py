"""SCRAM-SHA-256 password verifiers, computed client-side, in the form PostgreSQL stores them.

``ALTER ROLE ... PASSWORD '<verifier>'`` with a string already in this form stores it as it is
(PostgreSQL "ALTER ROLE": "If the presented password string is already in MD5-encrypted or
SCRAM-encrypted format, then it is stored as-is"; "21.5. Password Authentication"), so the
plaintext password never appears in SQL text, the server log (``log_statement``), or
``pg_stat_activity``. psycopg2 has no helper for this (psycopg 3 and libpq's
``PQencryptPasswordConn`` do), hence this module.

The verifier is ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64), with
(RFC 5802 section 3, RFC 7677)::

    SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
    ClientKey      = HMAC(SaltedPassword, "Client Key")
    StoredKey      = SHA-256(ClientKey)
    ServerKey      = HMAC(SaltedPassword, "Server Key")

PostgreSQL prepares the password with SASLprep first; for ASCII passwords (which the stack
generates) SASLprep changes nothing, and non-ASCII ones are refused here rather than hashed in a
form the server might normalise differently.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ITERATIONS = 4096
"""PostgreSQL's default ``scram_iterations`` (RFC 7677 section 4 recommends at least 4096)."""
SALT_BYTES = 16
"""PostgreSQL's ``SCRAM_DEFAULT_SALT_LEN``."""


def verifier(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The SCRAM-SHA-256 verifier of ``password`` (a fresh random salt unless one is given)."""
    if not password.isascii():
        raise ValueError("only ASCII passwords are supported (SASLprep is not implemented)")
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
