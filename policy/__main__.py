"""The kafka-migration-safety policy pack (the rules are in policies.py; the constructor serves them and blocks)."""

from policies import POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name="kafka-migration-safety", policies=POLICIES)
