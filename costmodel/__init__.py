"""Monthly cost estimate of a stack from the resources its program registers.

Dependency-free (the standard library and contract/, itself standard library only; .importlinter holds
it to that) so the offline CLI and the policy pack can both import it.
The estimate follows the code: it prices what the program actually registers (instance classes,
endpoints per zone, provisioned concurrency, cache size, alarms...) under a traffic profile, with
prices from the dated us-east-1 table in ``prices-us-east-1.json``.
"""
