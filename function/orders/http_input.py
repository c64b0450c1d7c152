"""Checks on a request's raw bytes and headers, made before any framework parses the body.

Why here and not in the routes: powertools parses the body with ``json.loads`` as it is, so a body
nested thousands deep (RecursionError), an integer of thousands of digits (ValueError past Python's
4,300-digit limit), bytes that are not UTF-8 or a duplicated key (silently the last one wins) would
reach the handler as an unexpected exception or as a request the caller did not mean. Each of these
is refused here as a 400 with the API's error shape instead; media types as 415.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from orders.errors import BadRequest, UnsupportedMediaType

JSON_MEDIA_TYPE = "application/json"
REPLACEMENT_CHARACTER = "\ufffd"
MAX_JSON_DEPTH = 8
"""Deeper than any valid body (a batch is three levels: object, list, order), with room to spare."""
MAX_INTEGER_DIGITS = 20
"""More digits than the largest amount accepted (2**53 - 1 has 16); longer numbers are refused unread."""


def check_media_type(content_type: str | None) -> None:
    """The body's media type is JSON, compared case-insensitively (RFC 9110), and UTF-8 if a charset is named."""
    media_type, _, parameters = (content_type or "").partition(";")
    if media_type.strip().lower() != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType("send the body as application/json")
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"the body must be UTF-8; charset {value.strip()!r} is not accepted")


def body_text(body: str | None, is_base64: bool) -> str:
    """The body as text; bytes that are not UTF-8 are a 400 (a Latin-1 'é' would otherwise be stored as mojibake)."""
    if not body:
        return ""
    if not is_base64:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadRequest("the request body is not valid UTF-8 JSON") from None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BadRequest(f"the request body names {key!r} more than once", [{"field": key}])
        seen[key] = value
    return seen


def _bounded_integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise BadRequest(f"the request body has a number longer than {MAX_INTEGER_DIGITS} digits")
    return int(digits)


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without parsing (so no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def check_json_body(text: str) -> None:
    """Parse the body strictly once: depth, long numbers and duplicate keys are 400s, as is any syntax error.

    A raw U+FFFD is what API Gateway puts in place of bytes that are not UTF-8 when it hands a text body
    on, so it is refused as such; a client that means the character can still send it escaped (\\ufffd).
    """
    if REPLACEMENT_CHARACTER in text:
        raise BadRequest("the request body is not valid UTF-8")
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(text, object_pairs_hook=_refuse_duplicates, parse_int=_bounded_integer)
    except (json.JSONDecodeError, RecursionError, ValueError):
        raise BadRequest("the request body is not valid JSON") from None
