# SPDX-License-Identifier: GPL-2.0
# pinpage: an overlay on Debian's linux-source-6.12.  Everything generated goes to build/.
# See README.md.

H := tools/testing/pinpage

.PHONY: help check demo bench bench-aio bench-zsmalloc build group check-stock expected-skips selftest-harness repin devtree export deps assemble clean distclean

help:
	@echo "make check              install, assemble, build the test kernel, boot every group, report"
	@echo "make demo               build the release kernel and boot the narrated scenario"
	@echo "make bench              io_uring buffer benchmark on the release and the stock kernel"
	@echo "make bench-aio          AIO ring page migration cost on the stock and the test kernel"
	@echo "make bench-zsmalloc     zsmalloc (zram) page migration cost on the stock and the test kernel"
	@echo "make group G=<name>     incremental build + one test group (groups: $(H)/groups.list)"
	@echo "make build              assemble and build the test kernel and guest programs, no boot"
	@echo "make check-stock        the upstream gate on the unpatched base kernel, for comparison"
	@echo "make expected-skips     record the stock gate's skips in $(H)/expected-skips/"
	@echo "make selftest-harness   the harness's own test (make check runs it first)"
	@echo "make repin V=<version>  move the pinned base to another linux-source-6.12 version"
	@echo "make devtree            git repository of the assembled tree in build/dev"
	@echo "make export             write build/dev back into the overlay and patches/"
	@echo "make clean | distclean  drop build products | the whole build/ folder"

check:
	@$(H)/check.sh test

demo:
	@$(H)/demo.sh

bench:
	@$(H)/bench.sh

bench-aio:
	@$(H)/check.sh stock-test aio-cost && $(H)/check.sh test aio-cost

bench-zsmalloc:
	@$(H)/bench-zsmalloc.sh

group:
	@test -n "$(G)" || { echo "usage: make group G=<name> (see $(H)/groups.list)"; exit 2; }
	@$(H)/check.sh test $(G)

check-stock:
	@$(H)/check.sh stock-test gate gate-migration gate-zram

expected-skips:
	@$(H)/expected-skips.sh

selftest-harness: assemble
	@$(H)/selftest.sh

repin:
	@test -n "$(V)" || { echo "usage: make repin V=<Debian version of linux-source-6.12>"; exit 2; }
	@$(H)/repin.sh "$(V)"

build: deps assemble
	@$(H)/build-kernel.sh test && $(H)/build-userspace.sh build/obj-test

deps:
	@$(H)/deps.sh

assemble:
	@$(H)/assemble.sh

devtree:
	@$(H)/devtree.sh

export:
	@$(H)/export.sh

clean:
	rm -rf build/obj-* build/logs build/initramfs build/userspace build/stage

distclean:
	rm -rf build
