# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Helpers of the tests in tests/doc/, sourced by them. The tests run from
# the top build directory; automake exports srcdir (the top source
# directory, relative to it).
#
# They read the header, the man pages and the export map with their own
# small parsers, not with doc/haq-man.py, so a bug in the generator cannot
# hide itself: what the header declares comes from the C preprocessor and
# compiler, what a page says from its roff text.

srcdir=${srcdir:-.}
CC=${HAQ_DOC_CC:-${CC:-cc}}
HEADER=$srcdir/include/haq/haq.h
LIBSO=libhaq/.libs/libhaq.so
SYMFILE=$srcdir/libhaq/libhaq.sym

fail=0
# Report a failure and remember it; the test goes on to list them all.
bad() {
	echo "FAIL: $*"
	fail=1
}

# A file made by the build: in the build tree, or else (a distribution
# tarball that carries it) in the source tree.
built() {
	if [[ -e $1 ]]; then
		echo "$1"
	elif [[ -e $srcdir/$1 ]]; then
		echo "$srcdir/$1"
	else
		echo "$1"
	fi
}

# Normalise C declarations, one a line: single spaces, none around
# punctuation, no trailing comma in an enum body.
norm() {
	sed -E 's/[[:space:]]+/ /g; s/ ?([][*(),{}=]) ?/\1/g; s/,\}/}/g; s/^ //; s/ $//'
}

# The declarations of the header, one a line, normalised, without comments
# and preprocessor lines (the compiler removes the comments).
header_decls() {
	sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}' "$HEADER" |
		"$CC" -fpreprocessed -E -P -x c - |
		grep -v -E '^[[:space:]]*(#|extern "C" \{[[:space:]]*$|\}[[:space:]]*$)' |
		tr '\n' ' ' | tr ';' '\n' | norm | grep -v '^$'
}

# The declarations in the SYNOPSIS of a man page, one a line, normalised.
page_decls() {
	sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$1" | grep -v '^\.' |
		sed -E 's/\\f[BIRP]//g; s/\\-/-/g; s/\\e/\\/g; s/\\&//g; s/\\ / /g' |
		tr '\n' ' ' | tr ';' '\n' | norm | grep -v '^$'
}

# The declaration of function NAME among declarations on stdin.
pick_function() {
	grep -E "^[^(]*[ *]$1\(" | grep -v '^typedef' || true
}

# The typedef or enum that declares NAME among declarations on stdin.
pick_type() {
	grep -E "^(typedef .*\(\*$1\)\(.*|typedef (struct|enum|union) [A-Za-z_0-9]+ $1|typedef .* $1|enum $1\{.*)$" || true
}

# The names of the functions, typedefs and enums the header declares.
header_function_names() {
	header_decls | grep -v -E '^(typedef|enum|struct|union) ' |
		sed -n -E 's/^[^(]*[ *]([A-Za-z_][A-Za-z_0-9]*)\(.*/\1/p' | sort -u
}
header_type_names() {
	header_decls | sed -n -E \
		-e 's/^typedef .*\(\*([A-Za-z_][A-Za-z_0-9]*)\)\(.*/\1/p' \
		-e 's/^typedef [^(]* ([A-Za-z_][A-Za-z_0-9]*)$/\1/p' \
		-e 's/^enum ([A-Za-z_][A-Za-z_0-9]*)\{.*/\1/p' | sort -u
}

# The symbols libhaq.so exports (defined, not the version nodes).
exported_symbols() {
	nm -D --defined-only "$LIBSO" |
		awk '$2 != "A" && $2 != "a" && NF >= 3 { sub(/@.*/, "", $3); print $3 }' |
		sort -u
}

# The adapter headers, include/haq/haq-NAME.h: header-only helpers that
# drive a context from another loop (tests/adapters.mk). They have no
# section-3 pages and export nothing: their functions are static inline,
# documented in the header itself. Each needs its loop's pkg-config module.
ADAPTER_MODULES="glib:glib-2.0 sdevent:libsystemd uv:libuv"

adapter_headers() {
	local h
	for h in "$srcdir"/include/haq/haq-*.h; do
		[[ -e $h ]] && echo "$h"
	done
}

# The functions adapter header H defines, as the compiler sees them (gcc
# -aux-info), one a line: "static int haq_uv_attach (...); /* (a, b) ..."
# Status 2: no module is known for H; 3: its module is not installed.
adapter_functions() { # H
	local h=$1 name mod='' m incdir tmpd rc
	name=$(basename "$h" .h)
	name=${name#haq-}
	for m in $ADAPTER_MODULES; do
		[[ ${m%%:*} == "$name" ]] && mod=${m#*:}
	done
	[[ -n $mod ]] || return 2
	pkg-config --exists "$mod" || return 3
	incdir=$(cd "$(dirname "$h")/.." && pwd)
	tmpd=$(mktemp -d)
	printf '#include <haq/%s>\n' "$(basename "$h")" >"$tmpd/aux.c"
	# shellcheck disable=SC2046 # pkg-config prints several words on purpose
	"$CC" -std=gnu11 -fsyntax-only -aux-info "$tmpd/aux" -I"$incdir" \
		$(pkg-config --cflags libqb "$mod") "$tmpd/aux.c" >&2
	rc=$?
	if ((rc == 0)); then
		grep -F "/* $incdir/haq/$(basename "$h"):" "$tmpd/aux" |
			sed -E 's@^/\*[^*]*\*/ *@@'
	fi
	rm -rf "$tmpd"
	return $rc
}

# The name of the function a declaration line of adapter_functions defines.
decl_name() {
	awk '{ if (match($0, /[A-Za-z_][A-Za-z_0-9]* \(/)) print substr($0, RSTART, RLENGTH - 2) }'
}
