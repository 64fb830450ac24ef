# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A real RTSP server for the camera tests (gst-rtsp-server, run by Debian's /usr/bin/python3).
RTSP_TEST_PACKAGES := gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
	gstreamer1.0-plugins-ugly gstreamer1.0-libav

.PHONY: run test install install-test models lint clean-venv

run: install models
	scripts/install-system-packages redis-server=redis-server
	$(PY) -m facesite.local.run

test: install-test models
	scripts/install-system-packages redis-server=redis-server chromium=chromium mosquitto=mosquitto $(RTSP_TEST_PACKAGES)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

install-test: $(STAMP).test

$(STAMP).test: $(STAMP) requirements-test.txt
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

models: install
	$(PY) manage.py fetch_models

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
