# Two commands for a new instructor: `make demo` and `make test`. Both set up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export KERAS_BACKEND ?= tensorflow
# TensorFlow's C++ start-up banners are noise in test and demo output.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup demo test test-slow test-backends bench clean

setup: $(VENV)/.installed
	$(PY) -m grader.data prepare

$(VENV)/.installed: requirements.txt scripts/install_system_packages.sh
	scripts/install_system_packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# The example class, queued in a gradebook of its own (var/demo, never var/grades.db); the site on
# http://127.0.0.1:8501 within seconds, and a worker grading the class while its scoreboard fills,
# until Ctrl-C. Prints a student's token and this run's instructor password. Re-running queues
# nothing twice; `rm -rf var/demo` starts the class over, dated today.
demo: setup
	scripts/demo.sh $(PY)

test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m "slow and not backends"

# Every reference graded under KERAS_BACKEND=jax and torch (TensorFlow's are in test-slow): its own
# CI job, since it trains each model twice more.
test-backends: setup
	$(PY) -m pytest -m backends tests/grader/test_backends.py

bench: setup
	$(PY) -m benchmarks.accuracy
	$(PY) -m benchmarks.grading

clean:
	rm -rf $(VENV) data/*.npz data/*.tgz .pytest_cache var

# The GPU check's wheels and packages, downloaded here into var/wheels (ignored, at most 60 MiB) for
# a GPU machine with no network; there, scripts/gpu_check.sh installs them and measures (README).
.PHONY: gpu-wheels
gpu-wheels: $(VENV)/.installed
	scripts/gpu_wheels.sh $(PY) var/wheels
