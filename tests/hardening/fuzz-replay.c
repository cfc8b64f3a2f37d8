/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replays a fuzz corpus through a libFuzzer target without libFuzzer, so
 * that "make check" (and check-valgrind, and the sanitizer build) runs every
 * seed and every kept crash input of tests/fuzz-corpus/ with the ordinary
 * compiler. Linked with one target (tests/fuzz_wire.c or
 * tests/hardening/fuzz_election.c) and its library sources.
 *
 * usage: fuzz_*_replay [FILE|DIR]...   (default: FUZZ_CORPUS)
 * A target signals a broken invariant with __builtin_trap(): the process
 * dies on SIGILL after naming the input it was running.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_CORPUS
#error "FUZZ_CORPUS must name the default corpus directory"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot size\n", path);
		fclose(f);
		return -1;
	}
	/* Exactly len bytes (one if empty), as libFuzzer hands them over. */
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	fprintf(stderr, "replay %s (%ld bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

/* Run path: a file, or every regular file of a directory, in name order. */
static int
run_path(const char *path, int *count)
{
	struct stat st;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *full;

		if (e->d_name[0] == '.') {
			continue;
		}
		if (n == cap) {
			char **grown;

			cap = cap ? cap * 2 : 64;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				rc = -1;
				break;
			}
			names = grown;
		}
		full = malloc(strlen(path) + strlen(e->d_name) + 2);
		if (!full) {
			rc = -1;
			break;
		}
		sprintf(full, "%s/%s", path, e->d_name);
		names[n++] = full;
	}
	closedir(d);
	if (n > 1) {
		qsort(names, n, sizeof(*names), cmp_names);
	}
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && stat(names[i], &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			(*count)++;
			rc = run_file(names[i]);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	int count = 0;
	int rc = 0;

	if (argc < 2) {
		rc = run_path(FUZZ_CORPUS, &count);
	}
	for (int i = 1; i < argc && rc == 0; i++) {
		rc = run_path(argv[i], &count);
	}
	if (rc == 0 && count == 0) {
		fprintf(stderr, "no input found\n");
		rc = -1;
	}
	printf("%d inputs replayed: %s\n", count, rc == 0 ? "ok" : "FAILED");
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
