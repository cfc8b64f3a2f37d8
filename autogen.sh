#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Generate configure and Makefile.in from the committed sources.
set -e
cd "$(dirname "$0")"
mkdir -p m4
autoreconf --install --force
