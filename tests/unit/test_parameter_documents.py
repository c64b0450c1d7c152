"""The settings documents the program stores fit a standard-tier parameter, whatever the configuration.

A standard-tier value holds at most 4 KB (contract.limits.SSM_STANDARD_VALUE_MAX_BYTES). The largest
document is the one of the largest values the settings parser accepts, with the longest host name
DNS allows (253 characters: https://www.rfc-editor.org/rfc/rfc1035#section-2.3.4) in place of the
deployment's addresses and the largest TCP port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from contract import limits
from contract.parameters import STORED_PARAMETERS, Source, encode_document
from serverless_infra.stack import parameter_values

LONGEST_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
LARGEST_PORT = 65_535

MAXIMAL_CONFIG = {
    "dbName": "n" * 63,
    "dbWriterUser": "w" * 63,
    "dbReaderUser": "r" * 63,
    "dbMasterUsername": "m" * 63,
    "dbIamAuth": "false",  # longer than "true"
    "dbProxy": "false",  # the proxy needs IAM authentication
    "dbStatementTimeoutMs": "900000",
    "dbConnectTimeoutS": "60",
    "apiMaxPageSize": "1000",
    "apiDefaultPageSize": "1000",
    "apiMaxBatchOrders": "500",
    "parametersMaxAgeS": "86400",
    "idempotencyTtlS": "2592000",
    "iamTokenRefreshMarginS": "600",
}


@dataclass(frozen=True)
class Known:
    """A resource attribute whose value is known, as ``Output.apply`` hands it on."""

    value: Any

    def apply(self, function: Callable[[Any], Any]) -> Any:
        return function(self.value)


def test_the_longest_host_is_the_longest_dns_allows():
    assert len(LONGEST_HOST) == 253


def test_given_the_largest_accepted_values_then_every_settings_document_fits_a_standard_parameter(parse_stack):
    """GIVEN every setting at the largest value the parser accepts and the longest possible host names
    WHEN the program's values are put into the documents  THEN each is at most 4 KB."""
    settings = parse_stack("dev", **MAXIMAL_CONFIG)
    database = SimpleNamespace(writer_address=LONGEST_HOST, reader_address=LONGEST_HOST, port=Known(LARGEST_PORT))
    values = parameter_values(settings, database)
    documents = [stored for stored in STORED_PARAMETERS if stored.document]
    assert documents
    for stored in documents:
        assert all(spec.source is not Source.GENERATED for spec in stored.settings)
        text = encode_document({spec.name: values[f"{spec.category.value}/{spec.name}"] for spec in stored.settings})
        size = len(text.encode("utf-8"))
        assert size <= limits.SSM_STANDARD_VALUE_MAX_BYTES, f"{stored.category.value}/{stored.name}: {size} bytes"
