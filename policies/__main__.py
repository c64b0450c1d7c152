"""Entry point the Pulumi CLI (and the offline gate) runs: ``python -m pulumi.policy <engine> .``.

The CLI runs this file with the pack directory as working directory and only that directory on
``sys.path``; the repository root is added so the pack can import the shared ``contract`` package
and its own modules as ``policies.*``.
"""

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi_policy.policy
from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import PACK_NAME, all_policies
from policies.stack_decoding import share_stack_decoding

share_stack_decoding(pulumi_policy.policy)
gc.freeze()
gc.set_threshold(50_000, 50, 100)
PolicyPack(name=PACK_NAME, policies=all_policies(), enforcement_level=EnforcementLevel.MANDATORY)
