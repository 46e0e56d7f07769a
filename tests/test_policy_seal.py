"""The sealed policy: the plain document AES-256 encrypted (revision 6, PDF 1.7 with Adobe's
extension level 8): it opens with its key as user and as owner alike, in qpdf and in pypdf,
with the permissions it always had, its streams still Flate-compressed, and shows nothing of
what it hides."""

from __future__ import annotations

import io

import pikepdf
import pypdf
import pytest
from pikepdf.models import EncryptionMethod

from baohan.documents.policy import policy_layout, policy_render
from baohan.documents.services import policy_seal
from tests.test_policy_qr import facts

PASSWORD = "s3cr3t-Policy_key-0123456789abcdefgh"
URL = "https://xinjiang.example.cn/verify?number=BH2026120400001&code=AB12CD34"


@pytest.fixture(scope="module")
def plain() -> bytes:
    return policy_render(facts=facts(URL), layout=policy_layout("base"))


def test_the_sealed_copy_opens_only_with_its_key_and_holds_the_same_objects(plain: bytes) -> None:
    sealed = policy_seal(pdf=plain, password=PASSWORD)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(sealed))
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(sealed), password=PASSWORD[:-1])
    with pikepdf.open(io.BytesIO(sealed), password=PASSWORD) as opened, pikepdf.open(io.BytesIO(plain)) as original:
        assert opened.user_password_matched
        assert opened.owner_password_matched
        info = opened.encryption
        assert (info.R, info.V, info.bits) == (6, 5, 256)
        assert info.stream_method == info.string_method == EncryptionMethod.aesv3
        assert opened.allow == pikepdf.Permissions()  # everything but assembly, as always
        assert (opened.pdf_version, opened.extension_level) == ("1.7", 8)
        assert opened.check_pdf_syntax() == []
        assert opened.docinfo.Title == original.docinfo.Title
        streams = [o for o in opened.objects if isinstance(o, pikepdf.Stream) and o.objgen != (0, 0)]
        assert streams
        for stream in streams:
            if "/Type" not in stream.stream_dict or stream.stream_dict.Type != "/XRef":
                assert stream.stream_dict.get("/Filter") in (
                    pikepdf.Name.FlateDecode,
                    pikepdf.Array([pikepdf.Name.FlateDecode]),
                    None,
                )
        assert len(original.pages) == len(opened.pages)
    # Another reader agrees, and the text is the text of the plain policy.
    reader = pypdf.PdfReader(io.BytesIO(sealed))
    assert reader.is_encrypted
    assert reader.decrypt(PASSWORD) != pypdf.PasswordType.NOT_DECRYPTED
    assert reader.pages[0].extract_text() == pypdf.PdfReader(io.BytesIO(plain)).pages[0].extract_text()
    # Nothing readable of what it hides: not the strings of the document information either.
    assert b"/Creator (Baohan)" in plain
    assert b"Baohan" not in sealed


def test_two_sealed_copies_differ_in_key_and_salts(plain: bytes) -> None:
    first = policy_seal(pdf=plain, password=PASSWORD)
    second = policy_seal(pdf=plain, password=PASSWORD)
    keys = []
    for sealed in (first, second):
        with pikepdf.open(io.BytesIO(sealed), password=PASSWORD) as opened:
            keys.append(opened.encryption.encryption_key)
            encrypt = opened.trailer.Encrypt
            assert len(bytes(encrypt.U)) == len(bytes(encrypt.O)) == 48
    assert keys[0] != keys[1]
    assert first != second
