"""The admin of the identity domain: people, face images, enrollment batches, model packs with their embeddings,
and identity conflicts, one module each.

Thin: every action that changes biometric data calls a lifecycle service. Deleting a person or an image in
the admin moves it to the recycle bin (out of search at once, files kept); only "purge", after a confirmation
page, removes files and embeddings for good. Face images are shown only through the permission-checked view.
"""

# Django's autodiscovery imports this package; importing each module registers its ModelAdmins.
from recognition.admin import conflicts, enrollments, face_images, packs, people  # noqa: F401
