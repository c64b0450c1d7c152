"""Entry point the Pulumi CLI (and the offline gate) runs: ``python -m pulumi.policy <engine> .``.

The CLI runs this file with the pack directory as working directory and only that directory on
``sys.path`` (so ``checkov_pack`` imports); the repository root is added as the main pack's
``__main__`` does, so the suppression machinery is the main pack's own module
(``policies.suppressions``, ``policies.governance``), imported, not copied.
"""

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from checkov_pack import evaluation
from checkov_pack.pack import PACK_NAME, all_policies
from pulumi_policy import EnforcementLevel, PolicyPack

evaluation.warm_up()  # load Checkov now, while the program runs, not when the stack is analysed
gc.freeze()
gc.set_threshold(50_000, 50, 100)
PolicyPack(name=PACK_NAME, policies=all_policies(), enforcement_level=EnforcementLevel.ADVISORY)
