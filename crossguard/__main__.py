"""The CrossGuard policy pack: every rule of :mod:`crossguard.rules`, mandatory.

The engine runs this file in the pack's folder (``python -m pulumi.policy``): the project
root goes on ``sys.path`` first, so the rules check with the platform's own definitions
(:mod:`components.config`'s pinning rules). Constructing a ``PolicyPack`` starts its
server, so nothing else imports this file; tests call the rules directly.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import EnforcementLevel, PolicyPack

from crossguard.rules import POLICIES

PolicyPack(name="agentic-platform", enforcement_level=EnforcementLevel.MANDATORY, policies=list(POLICIES))
