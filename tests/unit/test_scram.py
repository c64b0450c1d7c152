"""SCRAM-SHA-256 verifiers (orders.scram) against RFC 7677's worked example."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from orders.scram import ITERATIONS, verifier

# RFC 7677 section 3: user "user", password "pencil".
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
)
RFC_SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
RFC_CLIENT_PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="


def parts(text: str) -> tuple[str, int, bytes, bytes, bytes]:
    mechanism, parameters, keys = text.split("$")
    iterations, salt = parameters.split(":")
    stored_key, server_key = keys.split(":")
    return mechanism, int(iterations), *(base64.b64decode(x) for x in (salt, stored_key, server_key))


def test_the_server_key_signs_the_rfc_7677_exchange_as_the_rfc_says():
    # GIVEN the verifier of RFC 7677's password and salt
    _, _, _, _, server_key = parts(verifier("pencil", salt=RFC_SALT, iterations=4096))
    # WHEN the server signs the example's AuthMessage with it
    signature = hmac.new(server_key, RFC_AUTH_MESSAGE, hashlib.sha256).digest()
    # THEN the signature is the RFC's
    assert base64.b64encode(signature).decode() == RFC_SERVER_SIGNATURE


def test_the_stored_key_verifies_the_rfc_7677_client_proof():
    # GIVEN the verifier of RFC 7677's password and salt
    _, _, _, stored_key, _ = parts(verifier("pencil", salt=RFC_SALT, iterations=4096))
    # WHEN the RFC's client proof is checked as a server does (ClientKey = proof XOR signature)
    signature = hmac.new(stored_key, RFC_AUTH_MESSAGE, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(base64.b64decode(RFC_CLIENT_PROOF), signature, strict=True))
    # THEN the recovered client key hashes to the stored key
    assert hashlib.sha256(client_key).digest() == stored_key


def test_the_verifier_has_postgresqls_stored_form_with_a_fresh_salt():
    # GIVEN two verifiers of one password
    first, second = verifier("secret"), verifier("secret")
    # THEN both name the mechanism and the default iterations, and their salts differ
    assert parts(first)[:2] == ("SCRAM-SHA-256", ITERATIONS)
    assert parts(first)[2] != parts(second)[2]
    assert len(parts(first)[2]) == 16


def test_a_non_ascii_password_is_refused_rather_than_hashed_without_saslprep():
    with pytest.raises(ValueError, match="ASCII"):
        verifier("pässword")
