"""The secret catalogue: one entry per kind of credential keywire recognises in responses.

Each entry is data: a regular expression whose group ``secret`` is the credential, where a match
can start (``prefixes``: literal strings the match begins with) or a literal inside it
(``anchors`` with a ``window`` of characters around it), an optional offline validator
(:mod:`keywire.secrets.validators`: GitHub's CRC32, JWT structure, Bech32, base64 lengths, …), an
optional minimum Shannon entropy, an optional ``describe`` that decodes non-secret facts at capture
(the AWS account of a key ID, a JWT's algorithm) and the kind, which decides the rule.

The literals are what makes the scanner fast: it looks for them with ``str.find`` and runs the
expression only there (see :mod:`keywire.secrets.scanner`). An entry without them still works,
with a full pass of its expression over the text (gated by ``keyword`` if set).

Adding a provider is adding an entry here, plus its positive cases and near-misses in
``tests/test_secrets.py`` (a test refuses an entry without both).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping

from .._dataclass import dataclass
from .._lazyre import LazyPattern
from ..keyformat import BASE62, KEY_TAIL_PATTERN, PREFIX_PATTERN, base62_encode
from .validators import (
    aws_facts,
    aws_key_id_ok,
    azure_storage_key_ok,
    bech32_ok,
    discord_token_ok,
    github_checksum_ok,
    jwt_facts,
    jwt_structure_ok,
    keywire_key_checksum,
    keywire_key_checksum_ok,
    pem_body_ok,
    shannon_entropy,
    url_password_ok,
)

__all__ = [
    "BASE62",
    "CATALOGUE",
    "SecretKind",
    "SecretType",
    "base62_encode",
    "github_checksum_ok",
    "jwt_structure_ok",
    "keywire_key_checksum",
    "keywire_key_checksum_ok",
    "pem_body_ok",
    "shannon_entropy",
]


class SecretKind(enum.Enum):
    API_KEY = "api_key"
    PRIVATE_KEY = "private_key"
    TOKEN = "token"  # noqa: S105


@dataclass(frozen=True, kw_only=True)
class SecretType:
    """One recognisable kind of secret."""

    id: str
    provider: str
    name: str
    kind: SecretKind
    #: Compiled on first use (most entries never run in a scan: their literal does not occur).
    pattern: re.Pattern[str] | LazyPattern
    validate: Callable[[str], bool] | None = None
    min_entropy: float = 0.0
    keyword: str = ""
    prefixes: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    anchors_ci: bool = False
    window: tuple[int, int] = (0, 0)
    describe: Callable[[str], Mapping[str, str]] | None = None
    #: For entries with no literal of their own: a cheap expression (starting with a literal
    #: character) that finds where a match can end; ``pattern`` then runs from up to
    #: ``window[0]`` characters before it.
    locator: re.Pattern[str] | LazyPattern | None = None


def _re(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)


_B = r"(?<![A-Za-z0-9_\-])"  # left boundary: not inside a longer token
_E = r"(?![A-Za-z0-9_\-])"  # right boundary


def _token(
    id: str,
    provider: str,
    name: str,
    body: str,
    prefixes: tuple[str, ...],
    *,
    min_entropy: float = 0.0,
    validate: Callable[[str], bool] | None = None,
    kind: SecretKind = SecretKind.API_KEY,
) -> SecretType:
    """The common shape: a token that starts with a fixed prefix, bounded on both sides."""
    return SecretType(
        id=id,
        provider=provider,
        name=name,
        kind=kind,
        pattern=_re(_B + f"(?P<secret>{body})" + _E),
        prefixes=prefixes,
        min_entropy=min_entropy,
        validate=validate,
    )


CATALOGUE: tuple[SecretType, ...] = (
    SecretType(
        id="aws-access-key-id",
        provider="AWS",
        name="AWS access key ID",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _E),
        prefixes=("AKIA", "ASIA", "ABIA", "ACCA"),
        validate=aws_key_id_ok,
        min_entropy=2.8,
        describe=aws_facts,
    ),
    SecretType(
        id="aws-secret-access-key",
        provider="AWS",
        name="AWS secret access key",
        kind=SecretKind.API_KEY,
        pattern=_re(
            r"(?i:aws)[\w\- ]{0,20}?(?i:secret)[\w\- ]{0,20}?[\"']?\s{0,5}[:=]\s{0,5}[\"']?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        anchors=("aws",),
        anchors_ci=True,
        window=(0, 120),
        min_entropy=4.0,
        keyword="secret",
    ),
    _token(
        "stripe-secret-key",
        "Stripe",
        "Stripe secret or restricted key",
        r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{24,247}",
        # not just "sk_": "task_id" is everywhere in API payloads
        ("sk_live_", "sk_test_", "rk_live_", "rk_test_"),
        min_entropy=3.5,
    ),
    _token(
        "stripe-webhook-secret",
        "Stripe",
        "Stripe webhook signing secret",
        r"whsec_[0-9A-Za-z]{32,64}",
        ("whsec_",),
        min_entropy=3.5,
    ),
    _token(
        "github-token",
        "GitHub",
        "GitHub token",
        r"gh[pousr]_[0-9A-Za-z]{36}",
        ("gh",),
        validate=github_checksum_ok,
    ),
    _token(
        "github-fine-grained-pat",
        "GitHub",
        "GitHub fine-grained personal access token",
        r"github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}",
        ("github_pat_",),
        min_entropy=4.0,
    ),
    _token(
        "slack-token",
        "Slack",
        "Slack token",
        r"xox(?:b|p|a|r|s|e)-(?:\d{8,14}-){1,3}[0-9A-Za-z]{20,64}",
        ("xox",),
    ),
    SecretType(
        id="slack-webhook",
        provider="Slack",
        name="Slack incoming webhook URL",
        kind=SecretKind.API_KEY,
        pattern=_re(
            r"(?P<secret>https://hooks\.slack\.com/services/T[0-9A-Z]{8,12}/B[0-9A-Z]{8,12}/[0-9A-Za-z]{24})"
            + _E
        ),
        prefixes=("https://hooks.slack.com/services/",),
    ),
    _token(
        "slack-app-token",
        "Slack",
        "Slack app-level token",
        r"xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64}",
        ("xapp-",),
    ),
    _token(
        "google-api-key",
        "Google",
        "Google API key",
        r"AIza[0-9A-Za-z_\-]{35}",
        ("AIza",),
        min_entropy=3.5,
    ),
    _token(
        "google-oauth-client-secret",
        "Google",
        "Google OAuth client secret",
        r"GOCSPX-[0-9A-Za-z_\-]{28}",
        ("GOCSPX-",),
        min_entropy=3.5,
    ),
    _token(
        "google-oauth-access-token",
        "Google",
        "Google OAuth access token",
        r"ya29\.[0-9A-Za-z_\-]{30,512}",
        ("ya29.",),
        min_entropy=3.5,
    ),
    _token(
        "openai-api-key",
        "OpenAI",
        "OpenAI API key",
        r"sk-(?:(?:proj|svcacct|admin)-[0-9A-Za-z_\-]{20,150}|[0-9A-Za-z]{20})T3BlbkFJ[0-9A-Za-z_\-]{20,150}",
        ("sk-",),
        min_entropy=4.0,
    ),
    _token(
        "anthropic-api-key",
        "Anthropic",
        "Anthropic API key",
        r"sk-ant-(?:api|admin)\d\d-[0-9A-Za-z_\-]{93}AA",
        ("sk-",),
        min_entropy=4.0,
    ),
    _token(
        "gitlab-token",
        "GitLab",
        "GitLab access token",
        r"gl(?:pat|dt|ptt|rt)-[0-9A-Za-z_\-]{20,64}",
        ("gl",),
        min_entropy=3.0,
    ),
    _token(
        "npm-token",
        "npm",
        "npm access token",
        r"npm_[0-9A-Za-z]{36}",
        ("npm_",),
        min_entropy=3.3,
    ),
    _token(
        "pypi-token",
        "PyPI",
        "PyPI upload token",
        # "AgEIcHlwaS5vcmc" is the macaroon header naming pypi.org
        r"pypi-AgEIcHlwaS5vcmc[0-9A-Za-z_\-]{50,512}",
        ("pypi-AgEIcHlwaS5vcmc",),
    ),
    _token(
        "twilio-api-key",
        "Twilio",
        "Twilio API key",
        r"SK[0-9a-f]{32}",
        ("SK",),
        min_entropy=3.0,
    ),
    _token(
        "sendgrid-api-key",
        "SendGrid",
        "SendGrid API key",
        r"SG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}",
        ("SG.",),
        min_entropy=4.0,
    ),
    _token(
        "mailgun-api-key",
        "Mailgun",
        "Mailgun API key",
        r"key-[0-9a-f]{32}",
        ("key-",),
        min_entropy=3.0,
    ),
    SecretType(
        id="mailchimp-api-key",
        provider="Mailchimp",
        name="Mailchimp API key",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>[0-9a-f]{32}-us\d{1,2})" + _E),
        anchors=("-us",),
        window=(33, 6),
        min_entropy=3.0,
    ),
    _token(
        "shopify-token",
        "Shopify",
        "Shopify access token or shared secret",
        r"shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}",
        ("shp",),
        min_entropy=3.0,
    ),
    _token(
        "square-token",
        "Square",
        "Square access token or OAuth secret",
        r"sq0atp-[0-9A-Za-z_\-]{22}|sq0csp-[0-9A-Za-z_\-]{43}",
        ("sq0",),
        min_entropy=3.5,
    ),
    SecretType(
        id="digitalocean-token",
        provider="DigitalOcean",
        name="DigitalOcean token",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>do[por]_v1_[0-9a-f]{64})" + _E),
        anchors=("_v1_",),
        window=(3, 69),
        min_entropy=3.0,
    ),
    _token(
        "huggingface-token",
        "Hugging Face",
        "Hugging Face access token",
        r"hf_[A-Za-z]{34}",
        ("hf_",),
        min_entropy=3.5,
    ),
    _token(
        "databricks-token",
        "Databricks",
        "Databricks personal access token",
        r"dapi[0-9a-f]{32}(?:-\d)?",
        ("dapi",),
        min_entropy=3.0,
    ),
    SecretType(
        id="discord-bot-token",
        provider="Discord",
        name="Discord bot token",
        kind=SecretKind.API_KEY,
        pattern=_re(
            _B
            + r"(?P<secret>(?:M[TjDz]|N[DTjz]|O[DT])[0-9A-Za-z_\-]{22,26}\.[0-9A-Za-z_\-]{6}"
            + r"\.[0-9A-Za-z_\-]{27,38})"
            + _E
        ),
        # No literal of its own: a full pass, only where the text mentions Discord.
        keyword="discord",
        validate=discord_token_ok,
    ),
    SecretType(
        id="telegram-bot-token",
        provider="Telegram",
        name="Telegram bot token",
        kind=SecretKind.API_KEY,
        pattern=_re(r"(?<![0-9])(?P<secret>\d{8,10}:AA[0-9A-Za-z_\-]{33})" + _E),
        anchors=(":AA",),
        window=(11, 37),
        min_entropy=3.5,
    ),
    SecretType(
        id="azure-storage-account-key",
        provider="Azure",
        name="Azure storage account key",
        kind=SecretKind.API_KEY,
        pattern=_re(r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)"),
        prefixes=("AccountKey=",),
        validate=azure_storage_key_ok,
        min_entropy=4.5,
    ),
    SecretType(
        id="azure-ad-client-secret",
        provider="Azure",
        name="Microsoft Entra ID (Azure AD) client secret",
        kind=SecretKind.API_KEY,
        pattern=_re(
            r"(?<![A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})"
            r"(?![A-Za-z0-9_~.\-])"
        ),
        anchors=("Q~",),
        window=(5, 37),
        min_entropy=3.5,
    ),
    _token(
        "linear-api-key",
        "Linear",
        "Linear API key",
        r"lin_api_[0-9A-Za-z]{40}",
        ("lin_api_",),
        min_entropy=3.5,
    ),
    _token(
        "postman-api-key",
        "Postman",
        "Postman API key",
        r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}",
        ("PMAK-",),
        min_entropy=3.0,
    ),
    _token(
        "doppler-token",
        "Doppler",
        "Doppler personal token",
        r"dp\.pt\.[0-9A-Za-z]{43}",
        ("dp.pt.",),
        min_entropy=3.5,
    ),
    _token(
        "pulumi-token",
        "Pulumi",
        "Pulumi access token",
        r"pul-[0-9a-f]{40}",
        ("pul-",),
        min_entropy=3.0,
    ),
    _token(
        "vault-token",
        "HashiCorp",
        "HashiCorp Vault token",
        r"hv[sb]\.[0-9A-Za-z_\-]{24,256}",
        ("hv",),
        min_entropy=3.5,
    ),
    SecretType(
        id="terraform-cloud-token",
        provider="HashiCorp",
        name="Terraform Cloud / HCP Terraform API token",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=\-]{60,70})" + _E),
        anchors=(".atlasv1.",),
        window=(15, 80),
        min_entropy=3.5,
    ),
    _token(
        "newrelic-user-key",
        "New Relic",
        "New Relic user API key",
        r"NRAK-[0-9A-Z]{27}",
        ("NRAK-",),
        min_entropy=3.0,
    ),
    _token(
        "grafana-service-account-token",
        "Grafana",
        "Grafana service account token",
        r"glsa_[0-9A-Za-z]{32}_[0-9A-Fa-f]{8}",
        ("gl",),
        min_entropy=3.5,
    ),
    SecretType(
        id="grafana-cloud-token",
        provider="Grafana",
        name="Grafana Cloud access policy token",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>glc_[0-9A-Za-z+/]{32,400}={0,2})(?![0-9A-Za-z+/=_\-])"),
        prefixes=("gl",),
        min_entropy=4.0,
    ),
    _token(
        "sentry-token",
        "Sentry",
        "Sentry auth token",
        r"sntrys_eyJ[0-9A-Za-z+/=_\-]{40,400}|sntryu_[0-9a-f]{64}",
        ("sntry",),
        min_entropy=3.5,
    ),
    _token(
        "airtable-pat",
        "Airtable",
        "Airtable personal access token",
        r"pat[0-9A-Za-z]{14}\.[0-9a-f]{64}",
        ("pat",),
        min_entropy=3.5,
    ),
    _token(
        "mapbox-secret-token",
        "Mapbox",
        "Mapbox secret token",
        r"sk\.eyJ[0-9A-Za-z_\-]{20,512}\.[0-9A-Za-z_\-]{20,128}",
        ("sk.eyJ",),
        min_entropy=4.0,
    ),
    _token(
        "supabase-token",
        "Supabase",
        "Supabase access token",
        r"sbp_[0-9a-f]{40}",
        ("sbp_",),
        min_entropy=3.0,
    ),
    _token(
        "alibaba-access-key-id",
        "Alibaba Cloud",
        "Alibaba Cloud AccessKey ID",
        r"LTAI[0-9A-Za-z]{20}",
        ("LTAI",),
        min_entropy=3.5,
    ),
    _token(
        "age-secret-key",
        "age",
        "age encryption secret key",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        ("AGE-SECRET-KEY-1",),
        validate=bech32_ok,
        kind=SecretKind.PRIVATE_KEY,
    ),
    _token(
        "planetscale-token",
        "PlanetScale",
        "PlanetScale token or password",
        r"pscale_(?:tkn|pw|oauth)_[0-9A-Za-z_.\-]{32,64}",
        ("pscale_",),
        min_entropy=3.5,
    ),
    _token(
        "groq-api-key",
        "Groq",
        "Groq API key",
        r"gsk_[0-9A-Za-z]{52}",
        ("gsk_",),
        min_entropy=4.0,
    ),
    _token(
        "replicate-token",
        "Replicate",
        "Replicate API token",
        r"r8_[0-9A-Za-z]{37}",
        ("r8_",),
        min_entropy=3.5,
    ),
    _token(
        "atlassian-api-token",
        "Atlassian",
        "Atlassian API token",
        r"ATATT3[0-9A-Za-z_\-=]{150,250}",
        ("ATATT3",),
        min_entropy=4.0,
    ),
    SecretType(
        id="onepassword-service-account-token",
        provider="1Password",
        name="1Password service account token",
        kind=SecretKind.API_KEY,
        pattern=_re(_B + r"(?P<secret>ops_eyJ[0-9A-Za-z+/]{250,2000}={0,3})(?![0-9A-Za-z+/=])"),
        prefixes=("ops_eyJ",),
        min_entropy=4.0,
    ),
    SecretType(
        id="url-credentials",
        provider="URL credentials",
        name="Password in a URL (database or service connection string)",
        kind=SecretKind.API_KEY,
        pattern=_re(
            r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,20}://"
            r"[^\s:/@\"'<>\\]{0,64}:(?P<secret>[^\s:/@\"'<>\\]{1,128})@[A-Za-z0-9\[]"
        ),
        anchors=("://",),
        window=(22, 200),
        keyword="@",  # the pattern needs one: a text without it is not searched at each "://"
        validate=url_password_ok,
    ),
    SecretType(
        id="flask-keywire-key",
        provider="keywire",
        name="flask_keywire API key",
        kind=SecretKind.API_KEY,
        # <prefix>_<id>_<secret><checksum>: a configurable prefix (kw_live, kw_test, ...), a
        # 12-character id, 43 characters of secret (256 bits) and 6 of CRC32 checksum. The prefix
        # is the user's choice, so there is no literal to index: the locator finds the fixed-shape
        # tail (100 times faster than a full pass), and the checksum makes the match precise.
        # The shapes come from keywire.keyformat, the one definition flask_keywire uses too.
        pattern=_re(_B + rf"(?P<secret>{PREFIX_PATTERN.pattern}{KEY_TAIL_PATTERN})" + _E),
        locator=_re(KEY_TAIL_PATTERN + _E),
        window=(64, 0),
        validate=keywire_key_checksum_ok,
    ),
    SecretType(
        id="private-key",
        provider="PEM",
        name="Private key (PEM)",
        kind=SecretKind.PRIVATE_KEY,
        pattern=_re(
            r"(?P<secret>-----BEGIN (?P<label>(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
            # the body never contains "-----": a run of BEGIN lines fails fast, not in 16 KiB
            r"(?:(?!-----)[\s\S]){0,16384}-----END (?P=label)-----)"
        ),
        prefixes=("-----BEGIN ",),
        validate=pem_body_ok,
    ),
    SecretType(
        id="jwt",
        provider="JWT",
        name="JSON Web Token",
        kind=SecretKind.TOKEN,
        pattern=_re(
            _B
            + r"(?P<secret>eyJ[0-9A-Za-z_\-]{8,1024}\.eyJ[0-9A-Za-z_\-]{8,8192}\.[0-9A-Za-z_\-]{0,1024})"
            + _E
        ),
        prefixes=("eyJ",),
        validate=jwt_structure_ok,
        describe=jwt_facts,
    ),
)
