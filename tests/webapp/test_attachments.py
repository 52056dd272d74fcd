"""Attachments: checked by content, size-limited, stored outside static, served to readers."""

from __future__ import annotations

import io
import zipfile

from werkzeug.test import EnvironBuilder

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def upload(client, pid, data: bytes, name: str):
    return client.post(f"/projects/{pid}/attachments",
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_a_pdf_is_kept_outside_static_and_served_to_readers(app, world, login, draft,
                                                           instance_folder):
    assert upload(login("ca"), draft, PDF, "申报书.pdf").status_code == 302
    stored = list((instance_folder / "attachments").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    page = login("fin1").get(f"/projects/{draft}").get_data(as_text=True)
    link = page.split(f'/projects/{draft}/attachments/')[1].split('"')[0]
    response = login("city_aud").get(f"/projects/{draft}/attachments/{link}")
    assert response.status_code == 200 and response.data == PDF
    assert response.mimetype == "application/pdf"
    response.close()
    blocked = login("ay_ca").get(f"/projects/{draft}/attachments/{link}")
    assert blocked.status_code == 404


def test_office_files_pass_and_disguised_files_do_not(app, world, login, draft):
    client = login("ca")
    assert upload(client, draft, docx(), "预算.docx").status_code == 302
    for data, name in ((b"MZ\x90\x00 not a pdf", "virus.pdf"), (b"<html>", "page.pdf"),
                       (b"PK\x03\x04 broken zip", "fake.docx"), (b"", "empty.pdf")):
        response = upload(client, draft, data, name)
        assert response.status_code == 400, name
    with world.reading(draft) as project:
        assert [a.original_name for a in project.attachments] == ["预算.docx"]


def test_too_large_files_are_refused(app, world, login, draft):
    # A large body is spooled to a temporary file: build the request here to close it.
    client = login("ca")
    builder = EnvironBuilder(path=f"/projects/{draft}/attachments", method="POST", data={
        "file": (io.BytesIO(PDF + b"0" * (12 * 1024 * 1024)), "big.pdf")})
    environ = builder.get_environ()
    try:
        response = client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()
    assert response.status_code == 413
    assert "上传文件过大：一次最多可发送12MB。" in response.get_data(as_text=True)
    with world.reading(draft) as project:
        assert project.attachments == []


def test_file_names_cannot_climb_out(app, world, login, draft, instance_folder):
    upload(login("ca"), draft, PDF, "../../etc/passwd.pdf")
    with world.reading(draft) as project:
        assert project.attachments[0].original_name == "passwd.pdf"
    assert all(p.parent == instance_folder / "attachments"
               for p in (instance_folder / "attachments").iterdir())
