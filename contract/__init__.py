"""Definitions shared by the program (infra/), the function (function/) and the policy pack.

This package is dependency-free on purpose: it ships inside the Lambda artifact, is imported by the
policy pack inside the Pulumi CLI's plugin environment and by the program, so it may use nothing
but the standard library. Everything two sides must agree on (resource names, the parameter
hierarchy, which workload calls which AWS service) is defined here once, as data.
"""
