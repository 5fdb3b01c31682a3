"""Secret detection: a data-driven catalogue and a scanner that redacts at capture."""

from .catalogue import CATALOGUE, SecretKind, SecretType
from .scanner import SecretHit, find_secrets

__all__ = ["CATALOGUE", "SecretHit", "SecretKind", "SecretType", "find_secrets"]
