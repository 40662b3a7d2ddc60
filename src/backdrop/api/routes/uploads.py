"""The upload flow: POST uploadImageUrl, then PUT the bytes; GET serves images for 24 h."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from backdrop.api import examples, tags
from backdrop.api.deps import AdmissionDep, BasesDep, KeyDep, UploadsDep
from backdrop.api.envelope import success
from backdrop.api.responses import Envelope, UploadImageUrlBody
from backdrop.api.schemas import UploadImageUrlRequest
from backdrop.api.urls import image_url, upload_url
from backdrop.errors import InvalidRequest
from backdrop.storage.object_keys import validate_key
from backdrop.uploads.signing import UploadGrant

router = APIRouter(tags=[tags.LIGHTX])
# Images are served from the API's own origin: a browser must take them as the type they are
# sent with, never sniff an upload into HTML or script.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


@router.post(
    "/external/api/v2/uploadImageUrl",
    response_model=Envelope[UploadImageUrlBody],
    summary="Get a signed URL to upload an image",
    responses=examples.UPLOAD_IMAGE_URL,
)
def upload_image_url(
    body: UploadImageUrlRequest,
    key: KeyDep,
    admission: AdmissionDep,
    uploads: UploadsDep,
    bases: BasesDep,
) -> dict[str, Any]:
    admission.admit_upload(key.id, body.size)
    ticket = uploads.request_upload(key.id, body.size, body.contentType)
    return success(
        {
            "uploadImage": ticket.direct_url
            or upload_url(bases[0], ticket.grant, ticket.signature),
            "imageUrl": image_url(bases[0], ticket.grant.object_key),
            "size": ticket.grant.size,
        }
    )


@router.put(
    "/images/{prefix}/{name}",
    summary="Upload the image bytes to a signed URL",
    responses=examples.PUT_IMAGE,
)
async def put_image(
    prefix: str,
    name: str,
    request: Request,
    uploads: UploadsDep,
    keyId: Annotated[str, Query(max_length=64)] = "",
    size: Annotated[int, Query()] = 0,
    contentType: Annotated[str, Query(max_length=100)] = "",
    expires: Annotated[int, Query()] = 0,
    signature: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    object_key = validate_key(f"{prefix}/{name}")
    grant = UploadGrant(keyId, object_key, size, contentType, expires)
    length = request.headers.get("content-length")
    if length is not None and not length.isdigit():
        raise InvalidRequest("Content-Length must be a number")
    await uploads.receive(
        grant,
        signature,
        request.headers.get("content-type"),
        int(length) if length is not None else None,
        request.stream(),
    )
    return Response(status_code=200)


@router.get(
    "/images/{prefix}/{name}",
    summary="Download an image (valid 24 hours)",
    responses=examples.GET_IMAGE,
)
def get_image(prefix: str, name: str, uploads: UploadsDep) -> Response:
    served = uploads.public_image(validate_key(f"{prefix}/{name}"))
    if served.redirect is not None:
        # A presigned GET of the bucket that ends when the image does: the bytes never
        # pass through this node.
        return RedirectResponse(served.redirect, status_code=307, headers=NOSNIFF)
    assert served.path is not None
    return FileResponse(served.path, media_type=served.content_type, headers=NOSNIFF)
