"""The serverless-infra CrossGuard policy pack.

Each module holds the controls of one concern as data (:class:`policies.rules.Control`) plus the
small function that checks them. :mod:`policies.pack` gathers them; ``__main__`` is the only place
the pack is served, because constructing ``PolicyPack`` starts a gRPC server and never returns.
"""
