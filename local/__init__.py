"""Run the whole system on this machine: moto, PostgreSQL, the functions under a local Lambda runtime, the API front."""
