"""The Checkov policy pack: Checkov's AWS Terraform checks on a Pulumi program's AWS resources.

:mod:`checkov_pack.terraform` maps a resource to its Terraform type and attributes,
:mod:`checkov_pack.evaluation` runs Checkov's checks on it, :mod:`checkov_pack.pack` turns the
failures into CrossGuard violations with per-check enforcement and the main pack's suppressions.
"""
