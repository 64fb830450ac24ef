"""Forms of the identity domain's staff pages."""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from django import forms
from django.core.files.uploadedfile import UploadedFile

from recognition.models import Person


class FolderInput(forms.FileInput):
    """A folder picker: the browser offers directories and sends every file inside (webkitdirectory)."""

    allow_multiple_selected = True


class FolderField(forms.Field):
    """Every file of a picked folder, unvalidated: an empty or odd file is the enrollment's to refuse and
    name in the batch's errors, not a reason to turn the whole upload away."""

    widget = FolderInput

    def to_python(self, data) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [f for f in files if isinstance(f, UploadedFile)]

    def bound_data(self, data, initial):
        return initial  # a file input is never pre-filled


class DatasetUploadForm(forms.Form):
    """A dataset laid out as person_name/image.jpg: a folder from the picker, a .zip of one, or both.

    Browsers send only the bare name of each file of a picked folder (and Django keeps only the last path
    component anyway), so the page's script puts every file's relative path, in order, into `paths` (JSON).
    """

    folder = FolderField(
        required=False,
        label="Folder",
        help_text="Pick the dataset folder (one sub-folder per person) or one person's folder.",
        widget=FolderInput(attrs={"webkitdirectory": True, "directory": True, "multiple": True}),
    )
    paths = forms.CharField(required=False, widget=forms.HiddenInput)
    archive = forms.FileField(
        required=False,
        label="Zip file",
        help_text="A .zip laid out like the folder: person_name/image1.jpg, person_name/image2.jpg, ...",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    person = forms.ModelChoiceField(
        queryset=Person.objects.filter(deleted_at__isnull=True),
        required=False,
        label="All images belong to",
        empty_label="(the folder names say who is who)",
        help_text="For a flat folder or zip of one person's images.",
    )

    def clean_paths(self) -> list[str]:
        raw = self.cleaned_data.get("paths") or ""
        if not raw:
            return []
        try:
            paths = json.loads(raw)
        except ValueError:
            raise forms.ValidationError("the folder's file list is garbled; pick the folder again") from None
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise forms.ValidationError("the folder's file list is garbled; pick the folder again")
        return paths

    def clean(self) -> dict:
        data = super().clean()
        if not data.get("folder") and not data.get("archive") and not self.errors:
            raise forms.ValidationError("Choose a folder or a zip file to upload.")
        return data

    def folder_files(self) -> list[tuple[str, UploadedFile]]:
        """(relative path, file) for every file of the picked folder, the picked folder's own name removed
        when it is a dataset root (it holds sub-folders), kept when it is one person's folder."""
        files: list[UploadedFile] = self.cleaned_data.get("folder") or []
        paths: list[str] = self.cleaned_data.get("paths") or []
        if len(paths) != len(files):  # no script ran: only bare names are known
            return [(f.name, f) for f in files]
        named = []
        for path, upload in zip(paths, files, strict=True):
            # The path is the browser's word for this file; it must at least end with the file's own name.
            name = path if PurePosixPath(path.replace("\\", "/")).name == upload.name else upload.name
            named.append((name.replace("\\", "/"), upload))
        if any(len(PurePosixPath(name).parts) > 2 for name, _ in named):
            named = [(_without_top_folder(name), upload) for name, upload in named]
        return named


def _without_top_folder(name: str) -> str:
    parts = PurePosixPath(name).parts
    return str(PurePosixPath(*parts[1:])) if len(parts) > 1 else name
