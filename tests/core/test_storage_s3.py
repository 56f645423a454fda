"""Uploaded files in an S3-compatible bucket (MADOGUCHI_FILE_STORAGE=s3, the extra "s3").

The bucket is served by moto's S3 server, a real HTTP server on a loopback port in this
process (``moto[server]``, a test dependency); the storage reaches it through boto3 over HTTP
as it would reach AWS, MinIO or any other S3-compatible service. Nothing leaves the machine.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.core.files.storage import Storage, storages
from django.http import FileResponse
from django.utils import timezone
from moto.server import ThreadedMotoServer

from madoguchi.audit.models import AuditEntry
from madoguchi.core.uploads import delete_stored, open_stored, store_upload
from madoguchi.procedures.models import Attachment
from madoguchi.procedures.services import drafts_and_uploads_cleanup
from tests.core.serving import free_port
from tests.isolation import Tenant
from tests.procedures.backoffice_fixtures import kyufukin_submit, publish_catalogue, stored_file
from tests.procedures.conftest import KYUFUKIN

BUCKET = "madoguchi-uploads"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\xb18\xf6\x14\x00\x00\x00\x00"
    b"IEND\xaeB`\x82"
)
KEYS = {"access_key": "madoguchi-test", "secret_key": "madoguchi-test-secret"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(endpoint: str, settings: Any) -> Iterator[Any]:
    """An empty bucket, and STORAGES["default"] on it as settings.py builds it for s3."""
    s3 = boto3.resource(
        "s3",
        endpoint_url=endpoint,
        region_name="ap-northeast-1",
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
    )
    made = s3.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "location": "madoguchi",
                "endpoint_url": endpoint,
                "region_name": "ap-northeast-1",
                **KEYS,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    try:
        yield made
    finally:
        made.objects.all().delete()
        made.delete()


def keys(bucket: Any) -> list[str]:
    return sorted(item.key for item in bucket.objects.all())


def default() -> Storage:
    return storages["default"]


def test_store_open_and_delete_go_to_the_bucket(bucket: Any) -> None:
    stream = io.BytesIO(b"skipped" + PNG)
    stream.seek(len(b"skipped"))
    name = store_upload(stream, municipality_code="281000")

    assert re.fullmatch(r"attachments/281000/[0-9]{4}/[0-9]{2}/[0-9a-f]{32}", name)
    assert keys(bucket) == [f"madoguchi/{name}"]
    assert default().size(name) == len(PNG)
    with open_stored(name) as stored:
        assert stored.read() == PNG
    assert delete_stored(name) is True
    assert keys(bucket) == []
    assert delete_stored(name) is False
    with pytest.raises(FileNotFoundError):
        open_stored(name)


@pytest.mark.parametrize("storage_name", ["../secret", "/secret", "madoguchi/../secret", "a\\b"])
def test_names_that_leave_the_prefix_are_refused(bucket: Any, storage_name: str) -> None:
    bucket.put_object(Key="secret", Body=b"outside the prefix")

    with pytest.raises(ValueError, match="storage name"):
        open_stored(storage_name)
    assert delete_stored(storage_name) is False
    assert keys(bucket) == ["secret"]


def test_an_attachment_uploaded_to_the_bucket_is_served_to_staff_with_an_audit_entry(
    bucket: Any, tenant_a: Tenant
) -> None:
    version = publish_catalogue(tenant_a.municipality, KYUFUKIN, "welfare")
    document = stored_file(tenant_a.municipality, PNG, "免許証.png")
    application = kyufukin_submit(version, attachment=document).application
    assert keys(bucket) == [f"madoguchi/{document.storage_name}"]

    response = tenant_a.client("clerk").get(
        tenant_a.url(f"staff/applications/{application.receipt_number}/files/{document.pk}/")
    )

    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEntry.objects.filter(
        municipality=tenant_a.municipality, kind="access", action="view_attachment"
    ).exists()


def test_cleanup_deletes_unused_uploads_from_the_bucket(bucket: Any, tenant_a: Tenant) -> None:
    unused = stored_file(tenant_a.municipality, PNG, "a.png")
    Attachment.objects.filter(pk=unused.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    assert keys(bucket) == [f"madoguchi/{unused.storage_name}"]

    result = drafts_and_uploads_cleanup()

    assert (result.attachments, result.files) == (1, 1)
    assert keys(bucket) == []
    assert not Attachment.objects.filter(pk=unused.pk).exists()
