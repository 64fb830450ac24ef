from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector holds the face embeddings; every later migration may use VectorField."""

    initial = True
    dependencies = []
    operations = [VectorExtension()]
