#!/bin/sh
# KUnit suites built into the test kernel. They run before init; the host parses the
# console with tools/testing/kunit/kunit.py parse.  Nothing to do in userspace.
# PINPAGE-VM: KIND=kunit
# PINPAGE-VM: APPEND="kunit.enable=1 movablecore=256M"
# PINPAGE-VM: KUNIT_SUITES="pinpage usercopy"
# PINPAGE-VM: TIMEOUT=180
