"""Enterprise certificate (CA锁) login: checks a certificate and a signature over a login challenge.

The browser's CA driver signs a challenge carrying a single-use nonce with the enterprise key and
sends the certificate, any intermediate CA certificates and the signature. ``certificate_identity_verify``
checks, in this order: the certificate's validity period, its chain to one of the tenant's trusted
roots, its key usage, the signature over the challenge, and finally reads the enterprise's USCC
(统一社会信用代码) and name from the subject.

Chain building uses ``cryptography.x509.verification`` (a client verifier) with extension policies
adjusted for enterprise certificates:

* the leaf needs no subjectAltName and no authorityKeyIdentifier; its keyUsage and extendedKeyUsage
  are checked here (``key_usage``) rather than by the verifier, so that they get their own code; a
  leaf asserting basicConstraints cA=true, or carrying nameConstraints, is refused as untrusted;
* a CA certificate (trust anchors included) must assert basicConstraints cA=true (critical or not)
  and keyUsage keyCertSign; pathLenConstraint, nameConstraints and an extendedKeyUsage that would
  exclude clientAuth are enforced; the authorityKeyIdentifier's form is not checked.

Limits of the verifier, which apply to every certificate of the chain: X.509 v3 only; signatures with
RSA PKCS#1 v1.5 or PSS, or ECDSA, over SHA-256/384/512 (SHA-1 and SM3 are refused); issuer RSA keys of
at least 2048 bits; positive serial numbers of at most 20 octets; every certificate, the root
included, valid at ``now``; unknown critical extensions refused; at most 8 intermediates. Revocation
(CRL/OCSP) is not checked.

Leaf keys: RSA (at least 2048 bits, PKCS#1 v1.5 with SHA-256) and ECDSA on P-256 or P-384 (SHA-256,
signature DER-encoded or raw r||s as WebCrypto produces). SM2 (国密) certificates are not supported:
cryptography verifies neither SM2 signatures nor SM3withSM2-signed certificates.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)
from stdnum.cn import uscc as stdnum_uscc

RefusalCode = Literal[
    "malformed_certificate",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "untrusted",
    "key_usage",
    "no_uscc",
    "unsupported_key",
]

MESSAGES: dict[str, str] = {
    "malformed_certificate": "证书格式无效",
    "bad_signature": "签名验证失败",
    "expired": "证书已过期",
    "not_yet_valid": "证书尚未生效",
    "untrusted": "证书不是由本中心认可的CA机构签发",
    "key_usage": "该证书不能用于登录签名",
    "no_uscc": "证书中没有有效的统一社会信用代码",
    "unsupported_key": "不支持该证书的密钥类型",
}

CERTIFICATE_MAX_BYTES = 64 * 1024
RSA_MINIMUM_BITS = 2048

USCC_PATTERN = re.compile(r"(?<![0-9A-Z])(?=([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Z]))")

ATTRIBUTE_OIDS: dict[str, ObjectIdentifier] = {
    "serial_number": NameOID.SERIAL_NUMBER,
    "organizational_unit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "common_name": NameOID.COMMON_NAME,
    "organization": NameOID.ORGANIZATION_NAME,
    "uid": NameOID.USER_ID,
}

_PEM_MARKER = "-----BEGIN"
_CURVES = (ec.SECP256R1, ec.SECP384R1)


class CertificateRefused(Exception):
    """A certificate or signature that does not identify an enterprise; ``message`` is for the bidder."""

    def __init__(self, code: RefusalCode, message: str | None = None) -> None:
        self.code: str = code
        self.message: str = message if message is not None else MESSAGES[code]
        super().__init__(f"{self.code}: {self.message}")


@dataclass(frozen=True)
class CertificateIdentity:
    """The enterprise a verified certificate belongs to."""

    uscc: str
    name: str
    serial_number: str
    fingerprint_sha256: str
    not_after: datetime
    issuer: str


def uscc_attribute_oid(name: str) -> ObjectIdentifier:
    """The subject attribute OID for ``name``: one of ``ATTRIBUTE_OIDS`` or ``oid:<dotted>``."""
    if name in ATTRIBUTE_OIDS:
        return ATTRIBUTE_OIDS[name]
    if name.startswith("oid:"):
        try:
            return ObjectIdentifier(name[4:])
        except ValueError as exc:
            raise ValueError(f"invalid OID in USCC attribute {name!r}") from exc
    raise ValueError(f"unknown USCC attribute {name!r}")


def certificate_load(*, data: str | bytes) -> x509.Certificate:
    """One certificate from PEM (text or bytes), DER bytes, or base64 of DER (text)."""
    if len(data) == 0 or len(data) > CERTIFICATE_MAX_BYTES:
        raise CertificateRefused("malformed_certificate")
    try:
        if isinstance(data, str):
            if _PEM_MARKER in data:
                return x509.load_pem_x509_certificate(data.encode("ascii"))
            return x509.load_der_x509_certificate(_base64_decode(data))
        if _PEM_MARKER.encode() in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise CertificateRefused("malformed_certificate") from exc


def roots_load(*, pem: str | bytes) -> list[x509.Certificate]:
    """The certificates of a PEM bundle; ``ValueError`` if it holds none or one is malformed."""
    try:
        raw = pem.encode("ascii") if isinstance(pem, str) else pem
        return x509.load_pem_x509_certificates(raw)
    except (ValueError, UnicodeError) as exc:
        raise ValueError("not a PEM bundle of certificates") from exc


def certificate_identity_verify(
    *,
    certificate: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    signature: bytes,
    message: bytes,
    roots: Sequence[x509.Certificate],
    now: datetime,
    uscc_attributes: Sequence[str],
) -> CertificateIdentity:
    """The enterprise identified by ``certificate`` once it and ``signature`` over ``message`` check out.

    ``now`` must be timezone-aware. ``uscc_attributes`` lists subject attributes to search for the
    USCC, in order (see ``uscc_attribute_oid``). Raises ``CertificateRefused``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    oids = [uscc_attribute_oid(name) for name in uscc_attributes]
    try:
        extensions = certificate.extensions
        not_before = certificate.not_valid_before_utc
        not_after = certificate.not_valid_after_utc
    except ValueError as exc:
        raise CertificateRefused("malformed_certificate") from exc

    if now > not_after:
        raise CertificateRefused("expired")
    if now < not_before:
        raise CertificateRefused("not_yet_valid")

    _chain_verify(certificate=certificate, intermediates=intermediates, roots=roots, now=now)
    _key_usage_check(extensions)
    _signature_verify(certificate=certificate, signature=signature, message=message)

    uscc = _uscc_find(certificate.subject, oids)
    name = _name_find(certificate.subject)
    if uscc is None or not name:
        raise CertificateRefused("no_uscc")
    return CertificateIdentity(
        uscc=uscc,
        name=name,
        serial_number=format(certificate.serial_number, "x"),
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        not_after=not_after,
        issuer=certificate.issuer.rfc4514_string(),
    )


def _base64_decode(text: str) -> bytes:
    compact = "".join(text.split()).replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    return base64.b64decode(compact.encode("ascii"), validate=True)


def _ca_basic_constraints(policy: Policy, certificate: x509.Certificate, extension: x509.BasicConstraints) -> None:
    if not extension.ca:
        raise ValueError("basicConstraints.cA must be asserted in a CA certificate")


_CA_POLICY = (
    ExtensionPolicy.webpki_defaults_ca()
    .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, _ca_basic_constraints)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
)

_EE_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
    .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
)


def _chain_verify(
    *,
    certificate: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: datetime,
) -> None:
    if not roots:
        raise CertificateRefused("untrusted")
    verifier = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(now)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, list(intermediates))
    except (VerificationError, ValueError) as exc:
        raise CertificateRefused("untrusted") from exc


def _key_usage_check(extensions: x509.Extensions) -> None:
    try:
        key_usage = extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        pass
    else:
        if not key_usage.digital_signature or key_usage.key_cert_sign:
            raise CertificateRefused("key_usage")
    try:
        purposes = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return
    if ExtendedKeyUsageOID.CLIENT_AUTH not in purposes:
        raise CertificateRefused("key_usage")


def _signature_verify(*, certificate: x509.Certificate, signature: bytes, message: bytes) -> None:
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise CertificateRefused("unsupported_key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < RSA_MINIMUM_BITS:
            raise CertificateRefused("unsupported_key")
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise CertificateRefused("bad_signature") from exc
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _CURVES):
            raise CertificateRefused("unsupported_key")
        for candidate in _ecdsa_signatures(signature, (key.curve.key_size + 7) // 8):
            try:
                key.verify(candidate, message, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            return
        raise CertificateRefused("bad_signature")
    raise CertificateRefused("unsupported_key")


def _ecdsa_signatures(signature: bytes, size: int) -> Iterator[bytes]:
    """The signature as given (DER), then read as IEEE P1363 r||s when its length fits."""
    if signature:
        yield signature
    if len(signature) == 2 * size:
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        yield encode_dss_signature(r, s)


def _attribute_texts(subject: x509.Name, oid: ObjectIdentifier) -> Iterator[str]:
    for attribute in subject.get_attributes_for_oid(oid):
        if isinstance(attribute.value, str):
            yield attribute.value


def _uscc_find(subject: x509.Name, oids: Sequence[ObjectIdentifier]) -> str | None:
    for oid in oids:
        for text in _attribute_texts(subject, oid):
            for match in USCC_PATTERN.finditer(text.upper()):
                candidate = match.group(1)
                if stdnum_uscc.is_valid(candidate):
                    return candidate
    return None


def _name_find(subject: x509.Name) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        for text in _attribute_texts(subject, oid):
            if text.strip():
                return text.strip()
    return ""
