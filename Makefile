PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Build (or find, in a second) the native CPU kernels now, so that no first forward pass,
# timing or progress bar includes the minute the build takes. Without a compiler rnnkit
# still works, on torch's kernels.
BUILD_KERNELS := $(BIN)/python -m rnnkit.kernels.cpu || echo "rnnkit: no native CPU kernels (see above); torch's kernels will run instead"

.PHONY: demo test install kernels clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,plot,data]'
	$(BUILD_KERNELS)
	touch $(STAMP)

# after a change of the C++ sources (a new cache key): build them before the demo's timings
kernels: $(STAMP)
	$(BUILD_KERNELS)

install: $(STAMP)

demo: kernels
	$(BIN)/rnnkit compare --dataset sunspots --out demo-report

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build src/*.egg-info
