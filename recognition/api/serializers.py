"""Shapes of the identity API: people, their images and enrollment batches, recognition results."""

from __future__ import annotations

from rest_framework import serializers

from recognition.models import Enrollment, FaceImage, Person


class PersonSerializer(serializers.ModelSerializer):
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
    """selectors.batch_progress(batch).as_dict()."""

    batch_id = serializers.IntegerField()
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
    label = serializers.CharField(
        help_text="angry, disgust, fear, happy, sad, surprise, neutral or uncertain"
    )
    confidence = serializers.FloatField()
    probs = serializers.DictField(child=serializers.FloatField())


class RecognizedFaceSerializer(serializers.Serializer):
    box = serializers.ListField(child=serializers.FloatField(), help_text="[x1, y1, x2, y2] in image pixels")
    detection_score = serializers.FloatField()
    label = serializers.CharField(help_text="the person's name, or 'unknown'")
    person = PersonRefSerializer(allow_null=True, help_text="the accepted person; null when unknown")
    candidate = PersonRefSerializer(allow_null=True, help_text="the nearest person, also when unknown")
    score = serializers.FloatField(help_text="the candidate's pooled cosine similarity")
    margin = serializers.FloatField(help_text="how far the candidate beats the runner-up person")
    decision = serializers.CharField(help_text="accepted, below_threshold, ambiguous, taken or empty_gallery")
    emotion = EmotionSerializer(allow_null=True)


class IdentifyResponseSerializer(serializers.Serializer):
    pack = serializers.CharField()
    threshold = serializers.FloatField()
    margin = serializers.FloatField(help_text="the margin required over the runner-up")
    faces = RecognizedFaceSerializer(many=True)


class VerifyResponseSerializer(serializers.Serializer):
    same = serializers.BooleanField()
    score = serializers.FloatField()
    threshold = serializers.FloatField()
    pack = serializers.CharField()
    person = PersonRefSerializer(allow_null=True)
    faces = serializers.ListField(child=serializers.DictField(), help_text="[{box, detection_score}] used")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="a stable code, e.g. invalid_image, too_large, not_found")
    message = serializers.CharField()
    status = serializers.IntegerField()
    fields = serializers.DictField(required=False)
