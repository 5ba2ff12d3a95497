# Two commands for a new instructor: `make demo` and `make test`. Both set up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export KERAS_BACKEND ?= tensorflow
# TensorFlow's C++ start-up banners are noise in test and demo output.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: setup demo test test-slow bench clean

setup: $(VENV)/.installed
	$(PY) -m grader.data prepare

$(VENV)/.installed: requirements.txt scripts/install_system_packages.sh
	scripts/install_system_packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Grades the example class into the default SQLite gradebook, prints the scoreboard, then serves
# the site on http://127.0.0.1:8501 with a worker grading its uploads, until Ctrl-C.
# Re-running skips submissions that are already graded (same bytes, same grader version).
ASSIGNMENTS := conv_ops mnist_convnet lenet5 resnet digit_adder
demo: setup
	@for a in $(ASSIGNMENTS); do \
	  echo "== grading examples/submissions/$$a"; \
	  $(PY) -m grader grade-all examples/submissions/$$a --assignment $$a || exit 1; \
	done
	$(PY) -m grader scoreboard
	scripts/demo.sh $(PY)

test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow

bench: setup
	$(PY) -m benchmarks.accuracy
	$(PY) -m benchmarks.grading

clean:
	rm -rf $(VENV) data/*.npz data/*.tgz .pytest_cache var
