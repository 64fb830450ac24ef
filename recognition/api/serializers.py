"""Shapes of the identity API: people, their images and enrollment batches, recognition results. Every answer is
made by its output serializer here (the view hands it the result objects), so the published schema and the real
answer are one and the same declaration."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from recognition.models import Enrollment, FaceImage, Person


class RoundedFloatField(serializers.FloatField):
    """A float given to `digits` decimals (scores to 4, pixel boxes to 1): numpy scalars become plain numbers."""

    def __init__(self, digits: int = 4, **kwargs: Any) -> None:
        self.digits = digits
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> float:
        return round(float(value), self.digits)


class StrictBooleanField(serializers.BooleanField):
    """true or false (JSON booleans, or the words in a form): DRF's BooleanField also takes 0, 1, "on", "yes" and
    more, which the published schema (a boolean) does not allow."""

    WORDS = {"true": True, "True": True, "false": False, "False": False}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data in self.WORDS:
            return self.WORDS[data]
        self.fail("invalid", input=data)


class PersonSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(
        max_length=200, validators=[RegexValidator(r"\S", "A person needs a name.")], help_text="not blank"
    )
    # Slugs keep the letters of any script (slugify(allow_unicode=True)): "Zoë Li" -> "zoë-li", "李雷" -> "李雷", so
    # people named in non-Latin scripts keep distinct, readable slugs and existing ones never change. The model's
    # pattern ^[-\w]+$ is not published: OpenAPI patterns are ECMA 262, where \w means ASCII only.
    slug = serializers.CharField(
        read_only=True, help_text="made from the name: letters of any script, digits, '-' and '_'"
    )
    is_active = StrictBooleanField(required=False)
    in_recycle_bin = serializers.BooleanField(read_only=True)
    enrolled_images = serializers.IntegerField(read_only=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "display_name",
            "slug",
            "notes",
            "is_active",
            "user",
            "in_recycle_bin",
            "enrolled_images",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["slug", "user", "created_at", "updated_at"]

    def validate_display_name(self, value: str) -> str:
        name = " ".join(value.split())
        if not name:
            raise serializers.ValidationError("A person needs a name.")
        return name


class FaceImageSerializer(serializers.ModelSerializer):
    class Meta:
        model = FaceImage
        fields = [
            "id",
            "person",
            "enrollment",
            "status",
            "reject_reason",
            "original_name",
            "source",
            "quality",
            "face_box",
            "sha256",
            "created_at",
            "processed_at",
            "deleted_at",
        ]
        read_only_fields = fields


class BatchProgressSerializer(serializers.Serializer):
    """selectors.batch_progress(batch): a batch's progress."""

    batch_id = serializers.IntegerField()  # from a selectors.BatchProgress
    state = serializers.ChoiceField(choices=Enrollment.State.choices)
    total = serializers.IntegerField(help_text="images taken in; refused files are in `errors`")
    pending = serializers.IntegerField()
    enrolled = serializers.IntegerField()
    rejected = serializers.IntegerField()
    deleted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    processed = serializers.IntegerField()
    percent = serializers.IntegerField()
    errors = serializers.ListField(
        child=serializers.DictField(), help_text="[{file, error}] refused files; typed refusals add code and params"
    )


class EnrollmentUploadSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="images (JPEG, PNG, ...) and/or .zip files of images; all of them belong to this person",
    )


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="the picture (multipart), or send the image itself as the body")


class VerifyRequestSerializer(serializers.Serializer):
    """Parses either form; views.VERIFY_REQUEST publishes the two as oneOf."""

    image = serializers.FileField(required=False, help_text="with `person`: is this the person?")
    person = serializers.IntegerField(required=False, help_text="a person's id, with `image`")
    image_a = serializers.FileField(required=False, help_text="with `image_b`: the same person in both?")
    image_b = serializers.FileField(required=False)

    def validate(self, attrs: dict) -> dict:
        pair = "image_a" in attrs and "image_b" in attrs
        against_person = "image" in attrs and "person" in attrs
        if pair == against_person:
            raise serializers.ValidationError("Send either image_a and image_b, or image and person.")
        return attrs


# --- responses ----------------------------------------------------------------------------------------------
class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    display_name = serializers.CharField()


class EmotionSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="angry, disgust, fear, happy, sad, surprise, neutral or uncertain")
    confidence = RoundedFloatField()
    probs = serializers.DictField(child=RoundedFloatField())


class FaceBoxSerializer(serializers.Serializer):
    """A detected face (engine Face): where, and how sure the detector is."""

    box = serializers.ListField(
        child=RoundedFloatField(digits=1), source="detection.box", help_text="[x1, y1, x2, y2] in image pixels"
    )
    detection_score = RoundedFloatField(source="score")


class RecognizedFaceSerializer(serializers.Serializer):
    """One face of identify: {"face", "match", "person", "candidate"} (people as PersonRef or None)."""

    box = serializers.ListField(
        child=RoundedFloatField(digits=1), source="face.detection.box", help_text="[x1, y1, x2, y2] in image pixels"
    )
    detection_score = RoundedFloatField(source="face.score")
    label = serializers.SerializerMethodField(help_text="the person's name, or 'unknown'")
    person = PersonRefSerializer(allow_null=True, help_text="the accepted person; null when unknown")
    candidate = PersonRefSerializer(allow_null=True, help_text="the nearest person, also when unknown")
    score = RoundedFloatField(source="match.score", help_text="the candidate's pooled cosine similarity")
    margin = RoundedFloatField(source="match.margin", help_text="how far the candidate beats the runner-up person")
    decision = serializers.CharField(
        source="match.reason", help_text="accepted, below_threshold, ambiguous, taken or empty_gallery"
    )
    emotion = EmotionSerializer(source="face.emotion", allow_null=True)

    def get_label(self, face: dict) -> str:
        return face["person"]["display_name"] if face["person"] else "unknown"


class IdentifyResponseSerializer(serializers.Serializer):
    """{"pack", "policy", "faces"}: the result of matching.recognize with its faces as RecognizedFace input."""

    pack = serializers.CharField()
    threshold = serializers.FloatField(source="policy.threshold")
    margin = serializers.FloatField(source="policy.margin", help_text="the margin required over the runner-up")
    faces = RecognizedFaceSerializer(many=True)


class VerifyResponseSerializer(serializers.Serializer):
    """{"result": a matching verify result, "person": the Person or None}."""

    same = serializers.BooleanField(source="result.same")
    score = RoundedFloatField(source="result.score")
    threshold = serializers.FloatField(source="result.threshold")
    pack = serializers.CharField(source="result.pack")
    person = PersonRefSerializer(allow_null=True)
    faces = FaceBoxSerializer(source="result.faces", many=True, help_text="the faces compared")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="a stable code, e.g. invalid_image, too_large, not_found")
    message = serializers.CharField()
    status = serializers.IntegerField()
    fields = serializers.DictField(required=False)
