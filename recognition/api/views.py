"""Thin views: parse the request, call one service or selector, shape the answer."""

from __future__ import annotations

import zipfile
from itertools import chain

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import is_operator
from recognition import selectors
from recognition.api import serializers as s
from recognition.api.errors import NoFace, PayloadTooLarge
from recognition.api.filters import PersonFilter
from recognition.api.images import check_size, read_image
from recognition.api.parsers import IMAGE_PARSERS, max_image_bytes
from recognition.api.permissions import IsOperator, IsStaff, IsStaffOrReadOnly
from recognition.conf import recognition_settings
from recognition.domain.pack import ModelVersionMismatch
from recognition.models import Enrollment, FaceImage, Person, Source
from recognition.services import enrollment, lifecycle, matching
from recognition.uploads import UploadError, UploadRejected, read_files, read_zip

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="bad request, e.g. an image that cannot be decoded"),
    401: OpenApiResponse(s.ErrorSerializer, description="no credentials (send `Authorization: Token ...`)"),
    403: OpenApiResponse(s.ErrorSerializer, description="not allowed (only staff change identities)"),
    404: OpenApiResponse(s.ErrorSerializer, description="no such object"),
}
IMAGE_ERRORS = {
    **ERRORS,
    413: OpenApiResponse(s.ErrorSerializer, description="larger than API_MAX_IMAGE_BYTES"),
    415: OpenApiResponse(s.ErrorSerializer, description="not an image, or a format not read here"),
    409: OpenApiResponse(s.ErrorSerializer, description="the gallery holds embeddings of another model version "
                                                        "only: re-embed it (gallery_needs_reembedding)"),
}


BINARY = {"type": "string", "format": "binary"}
# verify takes one of two forms; a serializer with four optional fields would publish an empty form as valid.
VERIFY_REQUEST = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"image_a": {**BINARY, "description": "the same person in both?"}, "image_b": BINARY},
            "required": ["image_a", "image_b"],
        },
        {
            "type": "object",
            "properties": {
                "image": {**BINARY, "description": "is this the person?"},
                "person": {"type": "integer", "description": "a person's id"},
            },
            "required": ["image", "person"],
        },
    ]
}


def refuse_oversized(request: Request, limit: int) -> None:
    """413 before the body is read when its declared length is already too large."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge(f"The request is {length} bytes; at most {limit} bytes are accepted.")


# --- people -------------------------------------------------------------------------------------------------
def _enrollment_batches(person: Person):
    """The batches with images of this person, each counted whole (a subquery, not a join on its images)."""
    batches = Enrollment.objects.filter(pk__in=FaceImage.objects.filter(person=person).values("enrollment_id"))
    return selectors.with_image_counts(batches).order_by("-created_at")


@extend_schema_view(
    list=extend_schema(
        summary="List and search people",
        description="?search= name, slug or notes; people in the recycle bin only with ?in_recycle_bin=true.",
        responses={200: s.PersonSerializer(many=True), **ERRORS},
    ),
    retrieve=extend_schema(summary="One person", responses={200: s.PersonSerializer, **ERRORS}),
    create=extend_schema(summary="Create a person (staff)", responses={201: s.PersonSerializer, **ERRORS}),
    update=extend_schema(summary="Update a person (staff)", responses={200: s.PersonSerializer, **ERRORS}),
    partial_update=extend_schema(summary="Update a person (staff)", responses={200: s.PersonSerializer, **ERRORS}),
    destroy=extend_schema(
        summary="Move a person to the recycle bin (staff)",
        description="Out of search at once; images and embeddings are kept until purged.",
        responses={204: None, **ERRORS},
    ),
)
class PersonViewSet(viewsets.ModelViewSet):
    serializer_class = s.PersonSerializer
    permission_classes = [IsStaffOrReadOnly]
    # What each staff change needs, as in the admin (the recycle bin and restoring from it: "delete").
    staff_permissions = {
        "create": ["recognition.add_person"],
        "update": ["recognition.change_person"],
        "partial_update": ["recognition.change_person"],
        "destroy": ["recognition.delete_person"],
        "restore": ["recognition.delete_person"],
        "image": ["recognition.delete_faceimage"],
        "enrollments:GET": ["recognition.view_enrollment"],
        "enrollments:POST": ["recognition.add_enrollment"],  # as the upload page
    }
    filterset_class = PersonFilter
    search_fields = ["display_name", "slug", "notes"]
    ordering_fields = ["display_name", "created_at", "updated_at"]
    ordering = ["display_name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator, with no user
            return Person.objects.none()
        people = Person.objects.annotate(
            enrolled_images=Count("images", filter=Q(images__status=FaceImage.Status.ENROLLED))
        )
        if self.action == "list" and "in_recycle_bin" not in self.request.query_params:
            people = people.filter(deleted_at__isnull=True)
        if not is_operator(self.request.user):
            people = people.filter(user=self.request.user)  # a member sees only themself
        return people

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        try:
            person = enrollment.create_person(fields.pop("display_name"), **fields)
        except enrollment.PersonExists as exc:
            raise ValidationError({"display_name": [str(exc)]}) from None
        serializer.instance = self.get_queryset().get(pk=person.pk)

    def perform_destroy(self, instance: Person) -> None:
        lifecycle.move_person_to_recycle_bin(instance, actor=self.request.user)

    @extend_schema(
        summary="Restore a person from the recycle bin (staff)",
        request=None,
        responses={200: s.PersonSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        lifecycle.restore_person(person, actor=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=person.pk)).data)

    @extend_schema(
        summary="A person's face images",
        responses={200: s.FaceImageSerializer(many=True), **ERRORS},
        parameters=[OpenApiParameter("status", str, enum=FaceImage.Status.values)],
    )
    @action(detail=True, methods=["get"], filterset_class=None, search_fields=[], ordering_fields=[])
    def images(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        images = person.images.order_by("-created_at")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in FaceImage.Status.values:
                raise ValidationError({"status": [f"one of {', '.join(FaceImage.Status.values)}"]})
            images = images.filter(status=wanted)
        page = self.paginate_queryset(images)
        return self.get_paginated_response(s.FaceImageSerializer(page, many=True).data)

    @extend_schema(
        summary="Move one of a person's images to the recycle bin (staff)",
        request=None,
        responses={204: None, **ERRORS},
    )
    @action(detail=True, methods=["delete"], url_path=r"images/(?P<image_id>[0-9]+)", filterset_class=None)
    def image(self, request: Request, pk=None, image_id=None) -> Response:
        person = self.get_object()
        image = get_object_or_404(person.images, pk=image_id)
        lifecycle.move_images_to_recycle_bin([image], actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        methods=["POST"],
        summary="Enroll images or zips for a person (staff)",
        request=s.EnrollmentUploadSerializer,
        description="multipart/form-data, field `files` (repeat it): images and/or .zip files of images. "
        "Answers 202 with the batch; follow its progress at /api/v1/enrollments/{id}/.",
        responses={202: s.BatchProgressSerializer, **IMAGE_ERRORS},
    )
    @extend_schema(
        methods=["GET"],
        summary="A person's enrollment batches (staff)",
        responses={200: s.BatchProgressSerializer(many=True), **ERRORS},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        permission_classes=[IsStaff],
        parser_classes=[MultiPartParser],  # files: a JSON or urlencoded body cannot carry them
        filterset_class=None,
    )
    def enrollments(self, request: Request, pk=None) -> Response:
        person = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(_enrollment_batches(person))
            return self.get_paginated_response(_progress(page, many=True))
        refuse_oversized(request, recognition_settings().enroll_max_total_bytes)
        files = request.FILES.getlist("files") or request.FILES.getlist("file")
        if not files:
            raise ValidationError({"files": ["Send one or more images or .zip files in the `files` field."]})
        batch = enrollment.start_enrollment(
            _upload_items(files, person), source=Source.API, started_by=request.user, person=person
        )
        location = request.build_absolute_uri(reverse("v1:enrollment-detail", args=[batch.pk]))
        return Response(_progress(batch), status=status.HTTP_202_ACCEPTED, headers={"Location": location})


def _progress(batches, many: bool = False):
    """BatchProgressSerializer's answer for one batch or a page of them."""
    progress = [selectors.batch_progress(b) for b in batches] if many else selectors.batch_progress(batches)
    return s.BatchProgressSerializer(progress, many=many).data


def _upload_items(files, person: Person):
    """UploadItems for one person from uploaded images and zips (the readers enforce enrollment limits)."""
    limits = enrollment.upload_limits()
    zips, loose = [], []
    for upload in files:
        (zips if zipfile.is_zipfile(upload) else loose).append(upload)
        upload.seek(0)
    streams = [read_files([(f.name, f) for f in loose], person_name=person.display_name, limits=limits)]
    streams += [_zip_items(z, person, limits) for z in zips]
    return chain.from_iterable(streams)


def _zip_items(upload, person: Person, limits):
    try:
        yield from read_zip(upload, person_name=person.display_name, limits=limits)
    except UploadRejected as exc:  # one bad zip is an error line of the batch, not the end of it
        yield UploadError(upload.name, str(exc))


@extend_schema_view(
    list=extend_schema(summary="Enrollment batches (staff)", responses={200: s.BatchProgressSerializer(many=True)}),
    retrieve=extend_schema(summary="A batch's progress (staff)", responses={200: s.BatchProgressSerializer, **ERRORS}),
)
class EnrollmentViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Enrollment.objects.order_by("-created_at")
    permission_classes = [IsStaff]
    staff_permissions = {"list": ["recognition.view_enrollment"], "retrieve": ["recognition.view_enrollment"]}
    serializer_class = s.BatchProgressSerializer
    filterset_fields = ["state", "source"]
    search_fields: list[str] = []
    ordering_fields = ["created_at"]

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(selectors.with_image_counts(self.get_queryset())))
        return self.get_paginated_response(_progress(page, many=True))

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(_progress(self.get_object()))


# --- recognition --------------------------------------------------------------------------------------------
def _people(ids) -> dict[int | None, dict]:
    """id -> {"id", "display_name"} for the PersonRef of each face (None looks up nothing)."""
    wanted = {i for i in ids if i is not None}
    rows = Person.objects.filter(pk__in=wanted).values("id", "display_name")
    return {row["id"]: row for row in rows}


class IdentifyView(APIView):
    permission_classes = [IsOperator]
    throttle_scope = "recognition"  # API_RATE_RECOGNITION, on top of the user's rate
    parser_classes = IMAGE_PARSERS

    @extend_schema(
        summary="Who is in this picture?",
        description="Every face: box, the accepted person or 'unknown' (with the nearest candidate and score "
        "still given), score, margin over the runner-up, emotion. One person is given to at most one "
        "face of a picture. Send multipart field `image`, or the image itself as the body with an "
        "image/* Content-Type.",
        request={"multipart/form-data": s.ImageUploadSerializer, "image/*": BINARY},  # a dict: body required
        responses={200: s.IdentifyResponseSerializer, **IMAGE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        refuse_oversized(request, max_image_bytes() + 64 * 1024)
        upload = request.FILES.get("image")
        if upload is None:
            raise ValidationError({"image": ["Send the picture in the `image` field (or as the body)."]})
        pixels = read_image(upload, "image")
        result = matching.recognize(pixels)
        people = _people(chain.from_iterable((r.match.person_id, r.match.candidate_id) for r in result.faces))
        faces = [
            {
                "face": r.face,
                "match": r.match,
                "person": people.get(r.match.person_id),
                "candidate": people.get(r.match.candidate_id),
            }
            for r in result.faces
        ]
        answer = {"pack": result.pack, "policy": result.policy, "faces": faces}
        return Response(s.IdentifyResponseSerializer(answer).data)


class VerifyView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_scope = "recognition"
    parser_classes = IMAGE_PARSERS[:2]

    @extend_schema(
        summary="Same person or not?",
        description="Either `image_a` and `image_b` (the largest face of each, cosine similarity), or "
        "`image` and `person` (the face against the person's enrolled images, pooled as in "
        "identification). `same` is score >= the active pack's threshold.",
        request={"multipart/form-data": VERIFY_REQUEST},
        responses={200: s.VerifyResponseSerializer, **IMAGE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        refuse_oversized(request, 2 * max_image_bytes() + 64 * 1024)
        for upload in request.FILES.values():
            check_size(upload, upload.name)
        form = s.VerifyRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        person = None
        try:
            if "person" in data:
                person = Person.objects.filter(pk=data["person"], deleted_at__isnull=True).first()
                if not is_operator(request.user):
                    # One answer for another person's id and for an id nobody has: a member learns nothing
                    # about which people exist.
                    if person is None or person.user_id != request.user.pk:
                        raise PermissionDenied("Members may verify only against themselves.")
                elif person is None:
                    raise NotFound(f"No person with id {data['person']}.")
                image = read_image(data["image"], "image")
                try:
                    result = matching.verify_person(image, person.pk)
                except ModelVersionMismatch:
                    raise  # a 409 (recognition.api.errors), not a field error
                except LookupError as exc:
                    raise ValidationError({"person": [str(exc)]}) from None
            else:
                result = matching.verify_images(
                    read_image(data["image_a"], "image_a"), read_image(data["image_b"], "image_b")
                )
        except matching.NoFaceFound as exc:
            raise NoFace(str(exc)) from None
        return Response(s.VerifyResponseSerializer({"result": result, "person": person}).data)
