# The two commands of the README's quick start, and what they stand on.
.PHONY: demo test dependencies release benchmark

dependencies:
	scripts/install-dependencies

# The Swift runtime and Foundation linked in (--static-swift-stdlib): the binary starts
# faster and runs on a host with the Debian packages alone, no Swift toolchain.
release: dependencies
	swift build -c release --product clientele --static-swift-stdlib

# Installs what is missing, builds in release mode and runs the main job on the bundled CDNOW data.
demo: release
	scripts/demo

# Every test of the package, then the demo job's report opened in headless Chromium
# (scripts/check-report: no console message, a screenshot). The temporary files go into one
# scratch directory (TMPDIR), removed when they end, whatever their outcome.
test: dependencies
	@scratch=$$(mktemp -d -t clientele-tests.XXXXXX) && trap 'rm -rf "$$scratch"' EXIT && \
	  TMPDIR="$$scratch" swift test && \
	  "$$(swift build --show-bin-path)/clientele" run datasets/cdnow/cdnow-demo-job.json --output "$$scratch/demo" >/dev/null && \
	  scripts/check-report "$$scratch/demo" "$$scratch/report.png"

benchmark: dependencies
	cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
