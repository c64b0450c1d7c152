"""The orders service: thin Lambda handlers over pure, testable logic.

Nothing here imports pulumi or the infrastructure program; the shared ``contract`` package (the
parameter hierarchy and workload table) ships inside the same archive.
"""
