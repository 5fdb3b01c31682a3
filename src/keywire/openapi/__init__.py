"""API descriptions (OpenAPI 3.0/3.1, Swagger 2.0): loading, the model keywire reads, static
findings and the plan of endpoints a spec-driven scan probes.

The scan itself is :func:`keywire.scan` with ``ScanOptions(spec=...)``.
"""

from .build import build_model
from .loader import SpecError, SpecSet, load_spec
from .model import ApiSpec, Operation, SecurityScheme, Server
from .plan import Endpoint, EndpointTarget, Plan, plan_endpoints
from .static import STATIC_RULES, spec_findings

__all__ = [
    "STATIC_RULES",
    "ApiSpec",
    "Endpoint",
    "EndpointTarget",
    "Operation",
    "Plan",
    "SecurityScheme",
    "Server",
    "SpecError",
    "SpecSet",
    "build_model",
    "load_spec",
    "plan_endpoints",
    "spec_findings",
]
