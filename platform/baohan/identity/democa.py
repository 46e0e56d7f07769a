"""A demo CA issuing enterprise certificates shaped like those on Chinese CA locks, for development and tests.

Keys: ``"ec"`` (P-256), ``"ec-p384"`` (P-384) or ``"rsa"`` (2048 bits); certificates are signed with
SHA-256 (ECDSA or RSA PKCS#1 v1.5). Nothing here is fit for production.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baohan.identity.certificates import uscc_attribute_oid

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=730)
BACKDATE = timedelta(days=1)


@dataclass(frozen=True)
class IssuedCertificate:
    """An enterprise certificate and its private key."""

    certificate: x509.Certificate
    private_key: PrivateKey

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def private_key_pkcs8_pem(self) -> str:
        return _private_key_pem(self.private_key).decode("ascii")


@dataclass(frozen=True)
class DemoCa:
    """A CA certificate (root or intermediate) and its private key."""

    certificate: x509.Certificate
    private_key: PrivateKey

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def ca_create(
    *,
    name: str = "Baohan Demo CA",
    key: str = "ec",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    parent: DemoCa | None = None,
) -> DemoCa:
    """A self-signed root CA, or an intermediate CA issued by ``parent``."""
    private_key = _key_generate(key)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    start, end = _validity(not_before, not_after, CA_VALIDITY)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(parent.certificate.subject if parent else subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
    )
    if parent is not None:
        builder = builder.add_extension(_authority_key_identifier(parent), critical=False)
    signer = parent.private_key if parent else private_key
    return DemoCa(certificate=builder.sign(signer, hashes.SHA256()), private_key=private_key)


def enterprise_certificate_issue(
    *,
    ca: DemoCa,
    uscc: str,
    name: str,
    key: str = "ec",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key_usage_digital_signature: bool = True,
    extended_key_usage_client_auth: bool | None = True,
    uscc_attribute: str | None = "serial_number",
) -> IssuedCertificate:
    """An enterprise signing certificate issued by ``ca``.

    Subject C=CN, O=``name``, CN=``name``; ``uscc`` is written verbatim (prefix text allowed) into
    ``uscc_attribute`` (a name accepted by ``uscc_attribute_oid``; it replaces O or CN when it names
    one of them), or left out when that is None. Without ``key_usage_digital_signature`` the key usage
    is that of an encryption certificate. ``extended_key_usage_client_auth``: True for clientAuth,
    False for emailProtection only, None for no extendedKeyUsage extension.
    """
    private_key = _key_generate(key)
    values: dict[x509.ObjectIdentifier, str] = {
        NameOID.COUNTRY_NAME: "CN",
        NameOID.ORGANIZATION_NAME: name,
        NameOID.COMMON_NAME: name,
    }
    if uscc_attribute is not None:
        values[uscc_attribute_oid(uscc_attribute)] = uscc
    subject = x509.Name([x509.NameAttribute(oid, value) for oid, value in values.items()])
    if key_usage_digital_signature:
        usage = _key_usage(digital_signature=True, content_commitment=True)
    else:
        usage = _key_usage(key_encipherment=True, data_encipherment=True)
    start, end = _validity(not_before, not_after, LEAF_VALIDITY)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False)
        .add_extension(_authority_key_identifier(ca), critical=False)
    )
    if extended_key_usage_client_auth is not None:
        purposes = (
            [ExtendedKeyUsageOID.CLIENT_AUTH]
            if extended_key_usage_client_auth
            else [ExtendedKeyUsageOID.EMAIL_PROTECTION]
        )
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    certificate = builder.sign(ca.private_key, hashes.SHA256())
    return IssuedCertificate(certificate=certificate, private_key=private_key)


def demo_ca_ensure(*, directory: Path, uscc: str, name: str) -> tuple[DemoCa, IssuedCertificate]:
    """The demo CA and an enterprise certificate (EC P-256) kept in ``directory``.

    Files: ca.pem, ca-key.pem, enterprise.pem, enterprise-key.pem (keys PKCS#8, unencrypted, mode
    0600). Existing files are re-read; the enterprise certificate is re-issued when it is missing,
    not issued by the CA, no longer valid, or for another USCC or name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, ca_key_path = directory / "ca.pem", directory / "ca-key.pem"
    leaf_path, leaf_key_path = directory / "enterprise.pem", directory / "enterprise-key.pem"
    now = datetime.now(UTC)

    ca: DemoCa | None = None
    if ca_path.exists() and ca_key_path.exists():
        ca = DemoCa(
            certificate=x509.load_pem_x509_certificate(ca_path.read_bytes()),
            private_key=_private_key_load(ca_key_path.read_bytes()),
        )
        if not _valid_at(ca.certificate, now):
            ca = None
    if ca is None:
        ca = ca_create()
        _write(ca_key_path, _private_key_pem(ca.private_key), private=True)
        _write(ca_path, ca.certificate_pem().encode("ascii"), private=False)

    if leaf_path.exists() and leaf_key_path.exists():
        issued = IssuedCertificate(
            certificate=x509.load_pem_x509_certificate(leaf_path.read_bytes()),
            private_key=_private_key_load(leaf_key_path.read_bytes()),
        )
        if _leaf_current(issued.certificate, ca=ca, uscc=uscc, name=name, now=now):
            return ca, issued
    issued = enterprise_certificate_issue(ca=ca, uscc=uscc, name=name, key="ec")
    _write(leaf_key_path, _private_key_pem(issued.private_key), private=True)
    _write(leaf_path, issued.certificate_pem().encode("ascii"), private=False)
    return ca, issued


def challenge_sign(*, issued: IssuedCertificate, message: bytes, raw_ecdsa: bool = False) -> bytes:
    """``message`` signed the way a CA driver does: RSA PKCS#1 v1.5 or ECDSA (DER, or raw r||s), SHA-256."""
    key = issued.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        if raw_ecdsa:
            raise ValueError("raw_ecdsa needs an EC key")
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    if not raw_ecdsa:
        return signature
    size = (key.curve.key_size + 7) // 8
    r, s = decode_dss_signature(signature)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _key_generate(key: str) -> PrivateKey:
    if key == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key type {key!r}")


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_encipherment: bool = False,
    data_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=key_encipherment,
        data_encipherment=data_encipherment,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _authority_key_identifier(ca: DemoCa) -> x509.AuthorityKeyIdentifier:
    ski = ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _validity(start: datetime | None, end: datetime | None, length: timedelta) -> tuple[datetime, datetime]:
    begin = start if start is not None else datetime.now(UTC) - BACKDATE
    begin = begin.replace(microsecond=0)
    finish = end if end is not None else begin + length
    return begin, finish.replace(microsecond=0)


def _private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _private_key_load(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("demo CA keys are RSA or EC")
    return key


def _valid_at(certificate: x509.Certificate, now: datetime) -> bool:
    return certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc


def _leaf_current(certificate: x509.Certificate, *, ca: DemoCa, uscc: str, name: str, now: datetime) -> bool:
    try:
        certificate.verify_directly_issued_by(ca.certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    subject = certificate.subject
    serials = [a.value for a in subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)]
    names = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return _valid_at(certificate, now) and serials == [uscc] and names == [name]


def _write(path: Path, data: bytes, *, private: bool) -> None:
    mode = 0o600 if private else 0o644
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, mode)
