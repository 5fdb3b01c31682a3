"""What a revocation source said about a certificate: plain values, no cryptography.

:mod:`keywire.tls.revocation` asks the sources and checks their answers; the revocation
family's check reads these.
"""

from __future__ import annotations

import datetime
import enum

from .._dataclass import dataclass

STAPLED = "stapled OCSP response"
RESPONDER = "OCSP responder"
CRL = "CRL"


class Status(enum.Enum):
    """What one source says about a certificate."""

    GOOD = "good"
    REVOKED = "revoked"
    #: The responder does not know the certificate (OCSP "unknown").
    UNKNOWN = "unknown"
    #: An answer arrived but cannot be believed (signature, freshness, another certificate...).
    INVALID = "invalid"
    #: No answer: network failure, HTTP error, too large.
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """One source's answer about one certificate."""

    source: str  # STAPLED, RESPONDER or CRL
    url: str = ""
    status: Status
    reason: str = ""
    this_update: datetime.datetime | None = None
    next_update: datetime.datetime | None = None
    revoked_at: datetime.datetime | None = None
    revocation_reason: str = ""

    @property
    def decisive(self) -> bool:
        """A believable good or revoked: nothing more needs asking."""
        return self.status in (Status.GOOD, Status.REVOKED)

    @property
    def label(self) -> str:
        return f"{self.source} {self.url}" if self.url else self.source

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"source": self.source, "status": self.status.value}
        if self.url:
            out["url"] = self.url
        if self.reason:
            out["reason"] = self.reason
        for name in ("this_update", "next_update", "revoked_at"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        if self.revocation_reason:
            out["revocation_reason"] = self.revocation_reason
        return out


__all__ = ["CRL", "RESPONDER", "STAPLED", "Answer", "Status"]
