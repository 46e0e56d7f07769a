"""Enterprise certificate login checks, against certificates from the demo CA."""

from __future__ import annotations

import base64
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from baohan.identity.certificates import (
    CertificateIdentity,
    CertificateRefused,
    certificate_identity_verify,
    certificate_load,
    roots_load,
)
from baohan.identity.democa import (
    DemoCa,
    IssuedCertificate,
    ca_create,
    challenge_sign,
    demo_ca_ensure,
    enterprise_certificate_issue,
)
from tests.api import uscc_make

MESSAGE = b"baohan-login|xinjiang.localhost|nonce=3f9a1c0e2b7d4a6f"
NAME = "新疆测试建设有限公司"
USCC = uscc_make(9101)


@pytest.fixture(scope="module")
def ca() -> DemoCa:
    return ca_create()


@pytest.fixture(scope="module")
def rsa_leaf(ca: DemoCa) -> IssuedCertificate:
    return enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, key="rsa")


@pytest.fixture(scope="module")
def ec_leaf(ca: DemoCa) -> IssuedCertificate:
    return enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME)


def verify(
    issued: IssuedCertificate,
    *,
    roots: list[x509.Certificate],
    intermediates: tuple[x509.Certificate, ...] = (),
    signature: bytes | None = None,
    message: bytes = MESSAGE,
    now: datetime | None = None,
    uscc_attributes: tuple[str, ...] = ("serial_number",),
) -> CertificateIdentity:
    return certificate_identity_verify(
        certificate=issued.certificate,
        intermediates=list(intermediates),
        signature=challenge_sign(issued=issued, message=MESSAGE) if signature is None else signature,
        message=message,
        roots=roots,
        now=now or datetime.now(UTC),
        uscc_attributes=list(uscc_attributes),
    )


def refused(**kwargs: Any) -> str:
    issued = kwargs.pop("issued")
    with pytest.raises(CertificateRefused) as caught:
        verify(issued, **kwargs)
    assert caught.value.message
    return caught.value.code


def custom_leaf(
    ca: DemoCa, private_key: Any, attributes: list[x509.NameAttribute[str]] | None = None
) -> IssuedCertificate:
    now = datetime.now(UTC)
    subject = attributes or [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, NAME),
        x509.NameAttribute(NameOID.COMMON_NAME, NAME),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, USCC),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca.certificate.subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.private_key, hashes.SHA256())
    )
    return IssuedCertificate(certificate=certificate, private_key=private_key)


def test_rsa_certificate_identifies_the_enterprise(ca: DemoCa, rsa_leaf: IssuedCertificate) -> None:
    identity = verify(rsa_leaf, roots=[ca.certificate])

    assert identity.uscc == USCC
    assert identity.name == NAME
    assert identity.serial_number == format(rsa_leaf.certificate.serial_number, "x")
    assert identity.fingerprint_sha256 == rsa_leaf.certificate.fingerprint(hashes.SHA256()).hex()
    assert identity.not_after == rsa_leaf.certificate.not_valid_after_utc
    assert identity.issuer == "CN=Baohan Demo CA,O=Baohan Demo CA,C=CN"


@pytest.mark.parametrize("key", ["ec", "ec-p384"])
@pytest.mark.parametrize("raw_ecdsa", [False, True])
def test_ecdsa_signature_der_or_raw(ca: DemoCa, key: str, raw_ecdsa: bool) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, key=key)
    signature = challenge_sign(issued=issued, message=MESSAGE, raw_ecdsa=raw_ecdsa)
    size = 32 if key == "ec" else 48

    if raw_ecdsa:
        assert len(signature) == 2 * size
    else:
        assert signature[0] == 0x30
    assert verify(issued, roots=[ca.certificate], signature=signature).uscc == USCC


def test_chain_through_an_intermediate(ca: DemoCa) -> None:
    intermediate = ca_create(name="Baohan Demo Sub CA", parent=ca)
    issued = enterprise_certificate_issue(ca=intermediate, uscc=USCC, name=NAME)

    identity = verify(issued, roots=[ca.certificate], intermediates=(intermediate.certificate,))

    assert identity.uscc == USCC
    assert identity.issuer == "CN=Baohan Demo Sub CA,O=Baohan Demo Sub CA,C=CN"
    assert refused(issued=issued, roots=[ca.certificate]) == "untrusted"


def test_expired_intermediate_is_untrusted(ca: DemoCa) -> None:
    now = datetime.now(UTC)
    intermediate = ca_create(
        name="Baohan Old Sub CA", parent=ca, not_before=now - timedelta(days=400), not_after=now - timedelta(days=1)
    )
    issued = enterprise_certificate_issue(ca=intermediate, uscc=USCC, name=NAME)

    code = refused(issued=issued, roots=[ca.certificate], intermediates=(intermediate.certificate,))
    assert code == "untrusted"


def test_expired_root_is_untrusted() -> None:
    now = datetime.now(UTC)
    old = ca_create(not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    issued = enterprise_certificate_issue(ca=old, uscc=USCC, name=NAME)

    assert refused(issued=issued, roots=[old.certificate]) == "untrusted"


def test_one_of_several_roots(ca: DemoCa, ec_leaf: IssuedCertificate) -> None:
    other = ca_create(name="Other CA")

    assert verify(ec_leaf, roots=[other.certificate, ca.certificate]).uscc == USCC


def test_expired(ca: DemoCa) -> None:
    now = datetime.now(UTC)
    issued = enterprise_certificate_issue(
        ca=ca, uscc=USCC, name=NAME, not_before=now - timedelta(days=800), not_after=now - timedelta(seconds=1)
    )

    assert refused(issued=issued, roots=[ca.certificate]) == "expired"


def test_not_yet_valid(ca: DemoCa) -> None:
    now = datetime.now(UTC)
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, not_before=now + timedelta(hours=1))

    assert refused(issued=issued, roots=[ca.certificate]) == "not_yet_valid"


def test_validity_is_judged_at_now(ca: DemoCa, ec_leaf: IssuedCertificate) -> None:
    later = ec_leaf.certificate.not_valid_after_utc + timedelta(seconds=1)
    earlier = ec_leaf.certificate.not_valid_before_utc - timedelta(seconds=1)

    assert refused(issued=ec_leaf, roots=[ca.certificate], now=later) == "expired"
    assert refused(issued=ec_leaf, roots=[ca.certificate], now=earlier) == "not_yet_valid"


def test_certificate_of_another_ca_is_untrusted(ca: DemoCa) -> None:
    other = ca_create(name="Baohan Demo CA")
    issued = enterprise_certificate_issue(ca=other, uscc=USCC, name=NAME)

    assert refused(issued=issued, roots=[ca.certificate]) == "untrusted"


def test_no_roots_is_untrusted(ec_leaf: IssuedCertificate) -> None:
    assert refused(issued=ec_leaf, roots=[]) == "untrusted"


def test_ca_certificate_as_leaf_is_refused(ca: DemoCa) -> None:
    as_root = IssuedCertificate(certificate=ca.certificate, private_key=ca.private_key)
    intermediate = ca_create(name="Baohan Demo Sub CA", parent=ca)
    as_intermediate = IssuedCertificate(certificate=intermediate.certificate, private_key=intermediate.private_key)

    assert refused(issued=as_root, roots=[ca.certificate]) == "untrusted"
    assert refused(issued=as_intermediate, roots=[ca.certificate]) == "untrusted"


@pytest.mark.parametrize("key", ["ec", "rsa"])
def test_encryption_certificate_is_refused(ca: DemoCa, key: str) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, key=key, key_usage_digital_signature=False)

    assert refused(issued=issued, roots=[ca.certificate]) == "key_usage"


def test_extended_key_usage_without_client_auth_is_refused(ca: DemoCa) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, extended_key_usage_client_auth=False)

    assert refused(issued=issued, roots=[ca.certificate]) == "key_usage"


def test_no_extended_key_usage_is_accepted(ca: DemoCa) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, extended_key_usage_client_auth=None)

    assert verify(issued, roots=[ca.certificate]).uscc == USCC


@pytest.mark.parametrize("leaf", ["rsa_leaf", "ec_leaf"])
def test_signature_over_another_message(ca: DemoCa, leaf: str, request: pytest.FixtureRequest) -> None:
    issued: IssuedCertificate = request.getfixturevalue(leaf)
    signature = challenge_sign(issued=issued, message=MESSAGE + b"x")

    assert refused(issued=issued, roots=[ca.certificate], signature=signature) == "bad_signature"


@pytest.mark.parametrize("key", ["rsa", "ec"])
def test_signature_by_another_key(ca: DemoCa, key: str) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, key=key)
    impostor = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, key=key)
    signature = challenge_sign(issued=impostor, message=MESSAGE)

    assert refused(issued=issued, roots=[ca.certificate], signature=signature) == "bad_signature"


@pytest.mark.parametrize("signature", [b"", b"\x30\x00", b"\x00" * 64, b"garbage"])
@pytest.mark.parametrize("leaf", ["rsa_leaf", "ec_leaf"])
def test_garbage_signature(ca: DemoCa, leaf: str, signature: bytes, request: pytest.FixtureRequest) -> None:
    issued: IssuedCertificate = request.getfixturevalue(leaf)

    assert refused(issued=issued, roots=[ca.certificate], signature=signature) == "bad_signature"


def test_small_rsa_key_is_unsupported(ca: DemoCa) -> None:
    issued = custom_leaf(ca, rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    signature = challenge_sign(issued=issued, message=MESSAGE)

    assert refused(issued=issued, roots=[ca.certificate], signature=signature) == "unsupported_key"


@pytest.mark.parametrize("private_key", [ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP521R1())])
def test_other_key_types_are_unsupported(ca: DemoCa, private_key: Any) -> None:
    issued = custom_leaf(ca, private_key)

    assert refused(issued=issued, roots=[ca.certificate], signature=b"\x01" * 64) == "unsupported_key"


@pytest.mark.parametrize(
    "value",
    [
        f"统一社会信用代码:{USCC}",
        f"USCC:{USCC}",
        f"统一社会信用代码{USCC}",
        f"{USCC.lower()}",
        f"SF; {USCC}; 01",
    ],
)
def test_uscc_in_organizational_unit_with_prefix(ca: DemoCa, value: str) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=value, name=NAME, uscc_attribute="organizational_unit")

    identity = verify(issued, roots=[ca.certificate], uscc_attributes=("serial_number", "organizational_unit"))

    assert identity.uscc == USCC
    assert identity.name == NAME


@pytest.mark.parametrize("attribute", ["uid", "oid:2.5.4.97", "common_name"])
def test_uscc_in_other_attributes(ca: DemoCa, attribute: str) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=f"NTRCN-{USCC}", name=NAME, uscc_attribute=attribute)

    identity = verify(issued, roots=[ca.certificate], uscc_attributes=(attribute,))

    assert identity.uscc == USCC
    assert identity.name == NAME


def test_name_falls_back_to_common_name(ca: DemoCa) -> None:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.COMMON_NAME, f" {NAME} "),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, USCC),
    ]
    issued = custom_leaf(ca, ec.generate_private_key(ec.SECP256R1()), attributes)

    identity = verify(issued, roots=[ca.certificate])

    assert identity.name == NAME


def test_no_name_is_refused(ca: DemoCa) -> None:
    attributes = [x509.NameAttribute(NameOID.SERIAL_NUMBER, USCC)]
    issued = custom_leaf(ca, ec.generate_private_key(ec.SECP256R1()), attributes)

    assert refused(issued=issued, roots=[ca.certificate]) == "no_uscc"


def test_attributes_are_searched_in_order(ca: DemoCa) -> None:
    issued = enterprise_certificate_issue(ca=ca, uscc=USCC, name=NAME, uscc_attribute="organizational_unit")

    assert verify(issued, roots=[ca.certificate], uscc_attributes=("serial_number", "organizational_unit")).uscc == USCC
    code = refused(issued=issued, roots=[ca.certificate], uscc_attributes=("serial_number", "uid"))
    assert code == "no_uscc"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        USCC[:-1] + ("0" if USCC[-1] != "0" else "1"),
        f"X{USCC}",
        f"{USCC}0",
        "110101199003074477",
    ],
)
def test_no_uscc(ca: DemoCa, value: str | None) -> None:
    attribute = None if value is None else "serial_number"
    issued = enterprise_certificate_issue(ca=ca, uscc=value or "N/A", name=NAME, uscc_attribute=attribute)

    assert refused(issued=issued, roots=[ca.certificate]) == "no_uscc"


def test_unknown_uscc_attribute_is_a_programming_error(ca: DemoCa, ec_leaf: IssuedCertificate) -> None:
    with pytest.raises(ValueError, match="unknown USCC attribute"):
        verify(ec_leaf, roots=[ca.certificate], uscc_attributes=("email",))
    with pytest.raises(ValueError, match="invalid OID"):
        verify(ec_leaf, roots=[ca.certificate], uscc_attributes=("oid:not-an-oid",))


def test_naive_now_is_a_programming_error(ca: DemoCa, ec_leaf: IssuedCertificate) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(ec_leaf, roots=[ca.certificate], now=datetime.now())


def test_certificate_load_formats(ec_leaf: IssuedCertificate) -> None:
    der = ec_leaf.certificate.public_bytes(serialization.Encoding.DER)
    pem = ec_leaf.certificate_pem()
    encoded = base64.b64encode(der).decode("ascii")
    wrapped = "\n".join(encoded[i : i + 64] for i in range(0, len(encoded), 64))

    for data in (pem, pem.encode("ascii"), der, encoded, wrapped, base64.urlsafe_b64encode(der).decode().rstrip("=")):
        assert certificate_load(data=data) == ec_leaf.certificate


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "",
        b"garbage",
        "garbage!",
        "Z2FyYmFnZQ==",
        "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
        b"\x30\x82\x01\x00" + b"\x00" * 10,
        "证书",
        b"\x00" * (64 * 1024 + 1),
    ],
)
def test_certificate_load_refuses_malformed_input(data: str | bytes) -> None:
    with pytest.raises(CertificateRefused) as caught:
        certificate_load(data=data)
    assert caught.value.code == "malformed_certificate"


def test_truncated_der_is_malformed(ec_leaf: IssuedCertificate) -> None:
    der = ec_leaf.certificate.public_bytes(serialization.Encoding.DER)

    with pytest.raises(CertificateRefused) as caught:
        certificate_load(data=der[:-10])
    assert caught.value.code == "malformed_certificate"


def test_roots_load_reads_a_bundle(ca: DemoCa) -> None:
    other = ca_create(name="Other CA", key="rsa")

    roots = roots_load(pem=ca.certificate_pem() + other.certificate_pem())

    assert roots == [ca.certificate, other.certificate]
    assert roots_load(pem=ca.certificate_pem().encode("ascii")) == [ca.certificate]
    for bundle in (
        "no certificates here",
        "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
        "证书",
    ):
        with pytest.raises(ValueError, match="not a PEM bundle"):
            roots_load(pem=bundle)


def test_demo_ca_ensure_creates_then_rereads(tmp_path: Path) -> None:
    directory = tmp_path / "democa"
    ca, issued = demo_ca_ensure(directory=directory, uscc=USCC, name=NAME)

    for file in ("ca.pem", "ca-key.pem", "enterprise.pem", "enterprise-key.pem"):
        assert (directory / file).is_file()
    assert stat.S_IMODE((directory / "ca-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / "enterprise-key.pem").stat().st_mode) == 0o600
    assert isinstance(issued.private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(issued.private_key.curve, ec.SECP256R1)
    assert (directory / "enterprise-key.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")

    again_ca, again_issued = demo_ca_ensure(directory=directory, uscc=USCC, name=NAME)

    assert again_ca.certificate == ca.certificate
    assert again_issued.certificate == issued.certificate
    assert again_issued.private_key_pkcs8_pem() == issued.private_key_pkcs8_pem()
    roots = roots_load(pem=(directory / "ca.pem").read_text())
    signature = challenge_sign(issued=again_issued, message=MESSAGE, raw_ecdsa=True)
    assert verify(again_issued, roots=roots, signature=signature).uscc == USCC


def test_demo_ca_ensure_reissues_for_another_enterprise(tmp_path: Path) -> None:
    ca, issued = demo_ca_ensure(directory=tmp_path, uscc=USCC, name=NAME)
    other_uscc = uscc_make(9102)

    again_ca, other = demo_ca_ensure(directory=tmp_path, uscc=other_uscc, name="另一家公司")

    assert again_ca.certificate == ca.certificate
    assert other.certificate != issued.certificate
    assert verify(other, roots=[ca.certificate]).uscc == other_uscc
