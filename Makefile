# landcover — the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
APT_PACKAGES := pkg-config libgdal-dev libproj-dev libopenblas-dev libdnnl-dev gdal-bin openmpi-bin libopenmpi-dev chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT_RELEASE := -c release
TEST_FLAGS := -c release -Xswiftc -enable-testing

.PHONY: deps build demo test lint format clean

## deps: install the Debian packages the build needs (only those missing)
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## build: release build of the `landcover` binary
build: deps
	swift build $(SWIFT_RELEASE) --product landcover

## demo: the main job on the bundled SampleData (Pipelines/sample.yaml; outputs in out/sample)
demo: build
	"$$(swift build $(SWIFT_RELEASE) --show-bin-path)/landcover" run Pipelines/sample.yaml

## test: the whole test suite (release build with testing enabled: numeric loops are 10–50× slower in debug)
test: deps
	swift test $(TEST_FLAGS)

## lint / format: swift-format with the checked-in .swift-format
lint:
	swift format lint --strict --recursive Package.swift Sources Tests
format:
	swift format --in-place --recursive Package.swift Sources Tests

clean:
	rm -rf .build out
