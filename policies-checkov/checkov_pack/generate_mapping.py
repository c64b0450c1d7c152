"""Generate ``mapping.json`` from pulumi-aws's own bridge metadata.

``python -m checkov_pack.generate_mapping --metadata bridge-metadata.json --commit REF [--check]``
(from ``policies-checkov/``, in an environment with Checkov and the pinned pulumi-aws SDK installed).

The source is ``provider/cmd/pulumi-resource-aws/bridge-metadata.json`` in github.com/pulumi/pulumi-aws:
download it from the pulumi-aws tag matching the version constraints.txt pins (``v<pin>``), e.g.
https://raw.githubusercontent.com/pulumi/pulumi-aws/v7.51.1/provider/cmd/pulumi-resource-aws/bridge-metadata.json
(3.7 MB; not committed). ``renames.resources`` maps each resource token to its Terraform type,
``renames.renamedProperties`` each token's Pulumi property names to Terraform attribute names. The
generated file keeps, for every resource token whose Terraform type Checkov has a check for (and the
tokens named with ``--token``, remembered in ``extra_tokens`` so a later run keeps them), the
Terraform type, and the property names the conversion's rules (camelCase → snake_case, and a list of
objects' plural name singularised, as the bridge pluralises a repeated block) would get wrong: real
renames, and plural Terraform names such as ``api_stages``.

Metadata older than the pin is accepted: pulumi-aws 7 renamed some tokens (the S3 ``...V2``
resources lost their suffix; https://www.pulumi.com/registry/packages/aws/how-to-guides/7-0-migration/),
which ``V7_TOKENS`` applies, and a token the installed (pinned) SDK no longer defines (a resource the
provider removed since) is left out. A metadata file that holds only ``renames.resources`` (an
extract) leaves the property renames as ``mapping.json`` has them. An extract whose
``renamedProperties`` covers only some tokens names them in ``_renamedPropertiesTokens`` (a token
listed without an entry has no renamed properties): those tokens take the metadata's renames, every
other token keeps the entry ``mapping.json`` has, listed in ``properties_kept``.
``properties_source`` says which.

``--check`` exits 1 when ``mapping.json`` differs from what the metadata gives.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import re
import sys
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from checkov_pack.generated import write_or_check
from checkov_pack.terraform import MAPPING_FILE, singular, snake_case

CONSTRAINTS: Final = Path(__file__).resolve().parents[2] / "constraints.txt"
SOURCE: Final = (
    "github.com/pulumi/pulumi-aws provider/cmd/pulumi-resource-aws/bridge-metadata.json "
    "(renames.resources, renames.renamedProperties)"
)
V7_TOKENS: Final = {
    "aws:s3/bucketV2:BucketV2": "aws:s3/bucket:Bucket",
    "aws:s3/bucketAclV2:BucketAclV2": "aws:s3/bucketAcl:BucketAcl",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": (
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    ),
    "aws:s3/bucketLoggingV2:BucketLoggingV2": "aws:s3/bucketLogging:BucketLogging",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": (
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ),
    "aws:s3/bucketVersioningV2:BucketVersioningV2": "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2": (
        "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
    ),
    "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2": (
        "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration"
    ),
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2": (
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
    ),
}
_LEGACY: Final = re.compile(r"_legacy$")
# The SDK declares each resource class's token (``@pulumi.type_token("aws:s3/bucket:Bucket")``).
_SDK_RESOURCE: Final = re.compile(r'@pulumi\.type_token\("(aws:[^"]+)"\)\s*\nclass \w+\(pulumi\.CustomResource\)')
PROPERTIES_FROM_METADATA: Final = "renames.renamedProperties"
PROPERTIES_KEPT: Final = "mapping.json as before (the metadata given held no renames.renamedProperties)"
# An extract's list of the tokens whose renamedProperties it copied (absent: the whole file's).
EXTRACT_TOKENS: Final = "_renamedPropertiesTokens"


def pinned_pulumi_aws(constraints: Path = CONSTRAINTS) -> str:
    for line in constraints.read_text(encoding="utf-8").splitlines():
        if line.startswith("pulumi-aws=="):
            return line.split("==", 1)[1].strip()
    raise SystemExit(f"{constraints}: no pulumi-aws pin")


def derive(
    metadata: Mapping[str, Any],
    checked_types: Iterable[str],
    extra_tokens: Iterable[str],
    commit: str,
    *,
    sdk_tokens: Collection[str] | None = None,
    previous_properties: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The compact mapping: Terraform type per token, and the renames the conversion rules miss.

    ``sdk_tokens`` (the pinned SDK's resource tokens) drops tokens the provider has removed since
    the metadata's version; ``previous_properties`` stands in for a metadata file without
    ``renamedProperties``, and for the tokens an extract's ``renamedProperties`` does not cover.
    """
    renames = metadata["renames"]
    wanted_types, extra = set(checked_types), set(extra_tokens)
    resources: dict[str, str] = {}
    tokens_of: dict[str, str] = {}
    for token, tf_type in renames["resources"].items():
        if _LEGACY.search(tf_type):
            continue  # a deprecated alias kept for old programs; the current token maps the same type
        current = V7_TOKENS.get(token, token)
        if sdk_tokens is not None and current not in sdk_tokens:
            continue  # removed from the provider before the pinned version
        if tf_type in wanted_types or current in extra:
            resources[current] = tf_type
            tokens_of[token] = current
    properties: dict[str, dict[str, str]] = {}
    kept: list[str] = []
    if "renamedProperties" in renames:
        covered = metadata.get(EXTRACT_TOKENS)
        from_metadata = {current for token, current in tokens_of.items() if covered is None or token in covered}
        for token, names in renames["renamedProperties"].items():
            if tokens_of.get(token) not in from_metadata:
                continue
            special = _special(names)
            if special:
                properties[tokens_of[token]] = special
        kept = sorted(token for token in resources if token not in from_metadata)
        properties_source = (
            PROPERTIES_FROM_METADATA
            if not kept
            else f"{PROPERTIES_FROM_METADATA} for the {len(from_metadata)} tokens the metadata extract covers "
            f"({EXTRACT_TOKENS}); mapping.json as before for the {len(kept)} in properties_kept"
        )
    else:
        properties_source = PROPERTIES_KEPT
        kept = sorted(resources)
    previous = previous_properties or {}
    for token in kept:
        if token in previous:
            properties[token] = dict(sorted(previous[token].items()))
    return {
        "source": SOURCE,
        "source_commit": commit,
        "pulumi_aws": pinned_pulumi_aws(),
        "v7_token_renames_source": "https://www.pulumi.com/registry/packages/aws/how-to-guides/7-0-migration/",
        "extra_tokens": sorted(extra),
        "properties_source": properties_source,
        **({"properties_kept": kept} if kept and "renamedProperties" in renames else {}),
        "resources": dict(sorted(resources.items())),
        "properties": dict(sorted(properties.items())),
    }


def _special(names: Mapping[str, str]) -> dict[str, str]:
    """The renames the conversion rules would get wrong, and plural names it must not singularise (``api_stages``)."""
    return {p: tf for p, tf in sorted(names.items()) if tf != snake_case(p) or singular(snake_case(p)) != tf}


def sdk_resource_tokens(package_dir: Path) -> set[str]:
    """The resource tokens an installed pulumi_aws package defines (read from its source, not imported)."""
    tokens: set[str] = set()
    for module in package_dir.rglob("*.py"):
        tokens.update(_SDK_RESOURCE.findall(module.read_text(encoding="utf-8")))
    return tokens


def _pinned_sdk_tokens() -> set[str]:
    installed, pinned = importlib.metadata.version("pulumi_aws"), pinned_pulumi_aws()
    if installed != pinned:
        raise SystemExit(f"pulumi_aws {installed} is installed, constraints.txt pins {pinned}")
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        raise SystemExit("pulumi_aws is not importable here")
    return sdk_resource_tokens(Path(spec.origin).parent)


def _checked_types() -> list[str]:
    from checkov.terraform.checks.resource.registry import resource_registry

    return [resource_type for resource_type in resource_registry.checks if resource_type.startswith("aws_")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checkov_pack.generate_mapping", description=__doc__)
    parser.add_argument("--metadata", type=Path, required=True, help="pulumi-aws bridge-metadata.json")
    parser.add_argument("--commit", required=True, help="the pulumi-aws commit (or tag) the metadata is from")
    parser.add_argument("--token", action="append", default=[], help="also map this resource token")
    parser.add_argument("--check", action="store_true", help="exit 1 if mapping.json is stale")
    options = parser.parse_args(argv)
    metadata = json.loads(options.metadata.read_text(encoding="utf-8"))
    previous = json.loads(MAPPING_FILE.read_text(encoding="utf-8")) if MAPPING_FILE.exists() else {}
    mapping = derive(
        metadata,
        _checked_types(),
        [*previous.get("extra_tokens", []), *options.token],
        options.commit,
        sdk_tokens=_pinned_sdk_tokens(),
        previous_properties=previous.get("properties", {}),
    )
    text = json.dumps(mapping, indent=2) + "\n"
    return write_or_check(MAPPING_FILE, text, check=options.check, command="python -m checkov_pack.generate_mapping")


if __name__ == "__main__":
    sys.exit(main())
