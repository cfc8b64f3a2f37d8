/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * haq-status - a one-screen summary of the corosync cluster this node is in,
 * in the spirit of "pcs status": the cluster name, the quorum state, which
 * configured nodes are online and which are not, and every CPG group with
 * its members. "--json" prints the same for scripts.
 *
 * It uses nothing but libhaq's public API, which makes it a small tour of
 * the read-only side of that API: cmap reads (cluster name, node list), the
 * quorum snapshot, and the cluster-wide group list. It joins no group and
 * sends nothing, so running it never disturbs a view.
 *
 * Everything is read first, then printed, so the output is one consistent
 * snapshot as far as corosync allows: the quorum state and the group list
 * come from two requests and can straddle a membership change.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <haq/haq.h>

#define PROG "haq-status"

/* Exit codes, as documented in haq-status(1). */
#define EXIT_QUORATE 0
#define EXIT_ERROR 1
#define EXIT_USAGE 2
#define EXIT_NOT_QUORATE 3

/* Default time to wait for corosync's first quorum report, in seconds. */
#define DEFAULT_TIMEOUT_S 10

struct qnode {
	uint32_t nodeid;
	uint32_t votes;
};

/* One row of the node table: configured, online, or both. */
struct node {
	uint32_t nodeid;
	const char *name; /* from the node list; NULL when none */
	size_t cfg_index; /* index in the node list, or SIZE_MAX */
	bool online;	  /* a member of this partition's quorum list */
	uint32_t votes;
};

struct status {
	int verbose;

	char *cluster_name;
	int cluster_name_rc;
	uint32_t local_nodeid;

	haq_nodelist_t *nodelist;
	int nodelist_rc;

	/* A copy of the quorum snapshot (the library's is borrowed). */
	int quorum_rc;
	bool quorate;
	uint32_t expected_votes;
	uint32_t total_votes;
	uint32_t quorum_votes;
	uint32_t ring_nodeid;
	uint64_t ring_seq;
	struct qnode *qnodes;
	size_t nqnodes;

	haq_grouplist_t *groups;
	int groups_rc;

	struct node *nodes;
	size_t nnodes;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--json] [-t SECONDS] [-v]\n"
		"       " PROG " --help | --version\n"
		"\n"
		"Show the state of the corosync cluster this node belongs\n"
		"to: cluster name, quorum, nodes online and offline, and\n"
		"every CPG group with its members.\n"
		"\n"
		"  -j, --json           print JSON for scripts\n"
		"  -t, --timeout SECS   wait at most SECS for corosync's\n"
		"                       quorum state (default %d)\n"
		"  -v, --verbose        print libhaq's log on stderr\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the libhaq version and exit\n"
		"\n"
		"Exit status: 0 quorate, 1 the status could not be read\n"
		"(completely), 2 usage error, 3 not quorate.\n",
		DEFAULT_TIMEOUT_S);
}

static void
short_usage(void)
{
	fprintf(stderr, "usage: " PROG " [--json] [-t SECONDS] [-v]\n"
			"Try '" PROG " --help' for more information.\n");
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
log_cb(haq_ctx_t *ctx, int priority, const char *message, void *userdata)
{
	struct status *st = userdata;

	(void)ctx;
	if (st->verbose > 0 &&
	    priority <= (st->verbose > 1 ? HAQ_LOG_DEBUG : HAQ_LOG_INFO)) {
		fprintf(stderr, PROG ": libhaq: %s\n", message);
	}
}

/*
 * Let the context process what corosync sent, waiting at most wait_ms for
 * something to arrive. A read-only program on a NULL loop: the context's
 * one descriptor and a non-blocking dispatch are all it takes.
 */
static int
pump(haq_ctx_t *ctx, int wait_ms)
{
	struct pollfd pfd = {.fd = haq_ctx_fd(ctx), .events = POLLIN};
	int rc;

	if (pfd.fd < 0) {
		return pfd.fd;
	}
	if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
		return -errno;
	}
	rc = haq_ctx_dispatch(ctx);
	return rc < 0 ? rc : 0;
}

/* Read the quorum state, waiting for corosync's first report. */
static void
read_quorum(haq_ctx_t *ctx, struct status *st, uint64_t deadline)
{
	const haq_quorum_t *q = NULL;
	int rc;

	while ((rc = haq_quorum_get(ctx, &q)) == -EAGAIN) {
		uint64_t now = now_ms();

		if (now >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		rc = pump(ctx,
			  (int)(deadline - now > 100 ? 100 : deadline - now));
		if (rc < 0) {
			break;
		}
	}
	st->quorum_rc = rc;
	if (rc < 0) {
		return;
	}
	/* The snapshot is valid until the next dispatch: copy it now. */
	st->quorate = haq_quorum_quorate(q) == 1;
	haq_quorum_votes(q, &st->expected_votes, &st->total_votes,
			 &st->quorum_votes);
	haq_quorum_ring(q, &st->ring_nodeid, &st->ring_seq);
	st->nqnodes = haq_quorum_node_count(q);
	st->qnodes = calloc(st->nqnodes ? st->nqnodes : 1, sizeof(*st->qnodes));
	if (!st->qnodes) {
		st->quorum_rc = -ENOMEM;
		st->nqnodes = 0;
		return;
	}
	for (size_t i = 0; i < st->nqnodes; i++) {
		haq_quorum_node(q, i, &st->qnodes[i].nodeid,
				&st->qnodes[i].votes);
	}
}

/*
 * Read every CPG group of the cluster. corosync answers "try again" while
 * its membership is changing: retry until the deadline, letting the
 * context run in between.
 */
static void
read_groups(haq_ctx_t *ctx, struct status *st, uint64_t deadline)
{
	int rc;

	while ((rc = haq_ctx_groups(ctx, &st->groups)) == -EAGAIN) {
		if (now_ms() >= deadline) {
			break;
		}
		if (pump(ctx, 100) < 0) {
			break;
		}
	}
	st->groups_rc = rc;
}

static const struct qnode *
qnode_find(const struct status *st, uint32_t nodeid)
{
	for (size_t i = 0; i < st->nqnodes; i++) {
		if (st->qnodes[i].nodeid == nodeid) {
			return &st->qnodes[i];
		}
	}
	return NULL;
}

static int
node_cmp(const void *a, const void *b)
{
	const struct node *x = a;
	const struct node *y = b;

	return x->nodeid < y->nodeid ? -1 : x->nodeid > y->nodeid;
}

/*
 * The node table: every configured node, online when it is in this
 * partition's quorum node list, plus members of that list that are not
 * configured (node id 0 is a quorum device and is left out here).
 */
static int
build_nodes(struct status *st)
{
	size_t ncfg = haq_nodelist_count(st->nodelist);
	size_t max = ncfg + st->nqnodes;

	st->nodes = calloc(max ? max : 1, sizeof(*st->nodes));
	if (!st->nodes) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < ncfg; i++) {
		struct node *n = &st->nodes[st->nnodes];
		const struct qnode *qn;

		if (haq_nodelist_node(st->nodelist, i, &n->nodeid, &n->name) <
		    0) {
			continue;
		}
		n->cfg_index = i;
		qn = qnode_find(st, n->nodeid);
		n->online = qn != NULL;
		n->votes = qn ? qn->votes : 0;
		st->nnodes++;
	}
	for (size_t i = 0; i < st->nqnodes; i++) {
		struct node *n;
		bool known = false;

		if (st->qnodes[i].nodeid == 0) {
			continue;
		}
		for (size_t j = 0; j < st->nnodes && !known; j++) {
			known = st->nodes[j].nodeid == st->qnodes[i].nodeid;
		}
		if (known) {
			continue;
		}
		n = &st->nodes[st->nnodes++];
		n->nodeid = st->qnodes[i].nodeid;
		n->cfg_index = SIZE_MAX;
		n->online = true;
		n->votes = st->qnodes[i].votes;
	}
	qsort(st->nodes, st->nnodes, sizeof(*st->nodes), node_cmp);
	return 0;
}

static const struct node *
node_find(const struct status *st, uint32_t nodeid)
{
	for (size_t i = 0; i < st->nnodes; i++) {
		if (st->nodes[i].nodeid == nodeid) {
			return &st->nodes[i];
		}
	}
	return NULL;
}

/* Write a node's display name: its configured name, else its address. */
static void
node_label(const struct status *st, uint32_t nodeid, char *buf, size_t size)
{
	const struct node *n = node_find(st, nodeid);
	const char *addr = NULL;

	if (n && n->name) {
		snprintf(buf, size, "%s", n->name);
		return;
	}
	if (n && n->cfg_index != SIZE_MAX) {
		addr = haq_nodelist_addr(st->nodelist, n->cfg_index, 0);
	}
	if (addr) {
		snprintf(buf, size, "%s", addr);
	} else {
		snprintf(buf, size, "node%" PRIu32, nodeid);
	}
}

/* Names come from the network: never let them drive the terminal. */
static void
print_bytes(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '\\') {
			printf("\\x%02x", ch);
		} else {
			putchar(ch);
		}
	}
}

static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80) {
				return false;
			}
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
		i += n + 1;
	}
	return true;
}

/*
 * A JSON string. Valid UTF-8 passes through; a name that is not valid
 * UTF-8 has each byte above 0x7f written as \u00XX, so the output is
 * always valid JSON.
 */
static void
json_string(const char *s, size_t len)
{
	bool utf8 = utf8_valid((const unsigned char *)s, len);

	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			printf("\\%c", ch);
		} else if (ch < 0x20 || ch == 0x7f || (!utf8 && ch >= 0x80)) {
			printf("\\u%04x", ch);
		} else {
			putchar(ch);
		}
	}
	putchar('"');
}

static void
json_cstring(const char *s)
{
	if (s) {
		json_string(s, strlen(s));
	} else {
		fputs("null", stdout);
	}
}

static void
json_error(const char *key, int rc, bool *first)
{
	if (rc >= 0) {
		return;
	}
	printf("%s\n    ", *first ? "" : ",");
	json_cstring(key);
	printf(": ");
	json_cstring(haq_strerror(rc));
	*first = false;
}

static void
print_json(const struct status *st)
{
	char label[256];
	bool first;

	printf("{\n  \"cluster_name\": ");
	json_cstring(st->cluster_name);
	printf(",\n  \"local_nodeid\": %" PRIu32 ",\n", st->local_nodeid);

	printf("  \"quorum\": ");
	if (st->quorum_rc < 0) {
		printf("null,\n");
	} else {
		printf("{\n    \"quorate\": %s,\n    \"expected_votes\": "
		       "%" PRIu32 ",\n    \"total_votes\": %" PRIu32
		       ",\n    \"quorum_votes\": %" PRIu32
		       ",\n    \"ring\": {\"nodeid\": %" PRIu32
		       ", \"seq\": %" PRIu64 "},\n    \"nodes\": [",
		       st->quorate ? "true" : "false", st->expected_votes,
		       st->total_votes, st->quorum_votes, st->ring_nodeid,
		       st->ring_seq);
		for (size_t i = 0; i < st->nqnodes; i++) {
			printf("%s{\"nodeid\": %" PRIu32 ", \"votes\": %" PRIu32
			       "}",
			       i ? ", " : "", st->qnodes[i].nodeid,
			       st->qnodes[i].votes);
		}
		printf("]\n  },\n");
	}

	printf("  \"nodes\": [");
	for (size_t i = 0; i < st->nnodes; i++) {
		const struct node *n = &st->nodes[i];
		size_t naddr = n->cfg_index == SIZE_MAX
				       ? 0
				       : haq_nodelist_addr_count(st->nodelist,
								 n->cfg_index);

		node_label(st, n->nodeid, label, sizeof(label));
		printf("%s\n    {\"nodeid\": %" PRIu32 ", \"name\": ",
		       i ? "," : "", n->nodeid);
		json_cstring(label);
		printf(", \"configured\": %s, \"online\": %s, \"local\": %s, "
		       "\"votes\": %" PRIu32 ", \"addresses\": [",
		       n->cfg_index != SIZE_MAX ? "true" : "false",
		       n->online ? "true" : "false",
		       n->nodeid == st->local_nodeid ? "true" : "false",
		       n->votes);
		for (size_t j = 0; j < naddr; j++) {
			printf("%s", j ? ", " : "");
			json_cstring(haq_nodelist_addr(st->nodelist,
						       n->cfg_index, j));
		}
		printf("]}");
	}
	printf("%s],\n", st->nnodes ? "\n  " : "");

	for (int online = 1; online >= 0; online--) {
		size_t k = 0;

		printf("  \"%s\": [", online ? "online" : "offline");
		for (size_t i = 0; i < st->nnodes; i++) {
			if (st->nodes[i].online != (bool)online) {
				continue;
			}
			node_label(st, st->nodes[i].nodeid, label,
				   sizeof(label));
			printf("%s", k++ ? ", " : "");
			json_cstring(label);
		}
		printf("],\n");
	}

	printf("  \"groups\": ");
	if (st->groups_rc < 0) {
		printf("null,\n");
	} else {
		size_t ng = haq_grouplist_count(st->groups);

		printf("[");
		for (size_t i = 0; i < ng; i++) {
			size_t len = 0;
			const char *name =
				haq_grouplist_name(st->groups, i, &len);
			size_t nm = haq_grouplist_member_count(st->groups, i);

			printf("%s\n    {\"name\": ", i ? "," : "");
			json_string(name, len);
			printf(", \"members\": [");
			for (size_t j = 0; j < nm; j++) {
				uint32_t nodeid = 0;
				uint32_t pid = 0;

				haq_grouplist_member(st->groups, i, j, &nodeid,
						     &pid);
				node_label(st, nodeid, label, sizeof(label));
				printf("%s{\"nodeid\": %" PRIu32 ", \"node\": ",
				       j ? ", " : "", nodeid);
				json_cstring(label);
				printf(", \"pid\": %" PRIu32 "}", pid);
			}
			printf("]}");
		}
		printf("%s],\n", ng ? "\n  " : "");
	}

	printf("  \"errors\": {");
	first = true;
	json_error("cluster_name", st->cluster_name_rc, &first);
	json_error("nodelist", st->nodelist_rc, &first);
	json_error("quorum", st->quorum_rc, &first);
	json_error("groups", st->groups_rc, &first);
	printf("%s}\n}\n", first ? "" : "\n  ");
}

static void
print_text(const struct status *st)
{
	char label[256];

	printf("Cluster name: %s\n",
	       st->cluster_name ? st->cluster_name : "(not set)");
	node_label(st, st->local_nodeid, label, sizeof(label));
	printf("Local node: %s (node id %" PRIu32 ")\n", label,
	       st->local_nodeid);

	printf("\nQuorum:\n");
	if (st->quorum_rc < 0) {
		printf("  * unknown: %s\n", haq_strerror(st->quorum_rc));
	} else {
		printf("  * Partition: %s\n",
		       st->quorate ? "quorate" : "NOT QUORATE");
		printf("  * Votes: %" PRIu32 " present, %" PRIu32
		       " expected, %" PRIu32 " needed for quorum\n",
		       st->total_votes, st->expected_votes, st->quorum_votes);
		printf("  * Ring: %" PRIu32 ".%" PRIx64 "\n", st->ring_nodeid,
		       st->ring_seq);
		if (qnode_find(st, 0)) {
			printf("  * Quorum device: %" PRIu32 " vote(s)\n",
			       qnode_find(st, 0)->votes);
		}
	}

	printf("\nNode List (%zu configured):\n",
	       haq_nodelist_count(st->nodelist));
	if (st->nodelist_rc < 0) {
		printf("  * configuration unknown: %s\n",
		       haq_strerror(st->nodelist_rc));
	}
	for (int online = 1; online >= 0; online--) {
		printf("  * %s: [", online ? "Online" : "Offline");
		for (size_t i = 0; i < st->nnodes; i++) {
			if (st->nodes[i].online != (bool)online) {
				continue;
			}
			node_label(st, st->nodes[i].nodeid, label,
				   sizeof(label));
			putchar(' ');
			print_bytes(label, strlen(label));
		}
		printf(" ]\n");
	}

	printf("\nNodes:\n  %-8s %-20s %-8s %5s  %s\n", "NODEID", "NAME",
	       "STATUS", "VOTES", "ADDRESSES");
	for (size_t i = 0; i < st->nnodes; i++) {
		const struct node *n = &st->nodes[i];
		size_t naddr = n->cfg_index == SIZE_MAX
				       ? 0
				       : haq_nodelist_addr_count(st->nodelist,
								 n->cfg_index);
		char votes[16];

		node_label(st, n->nodeid, label, sizeof(label));
		snprintf(votes, sizeof(votes), n->online ? "%" PRIu32 : "-",
			 n->votes);
		printf("  %-8" PRIu32 " %-20s %-8s %5s  ", n->nodeid, label,
		       n->online ? "online" : "OFFLINE", votes);
		for (size_t j = 0; j < naddr; j++) {
			printf("%s%s", j ? "," : "",
			       haq_nodelist_addr(st->nodelist, n->cfg_index,
						 j));
		}
		if (n->cfg_index == SIZE_MAX) {
			printf("(not in the node list)");
		}
		if (n->nodeid == st->local_nodeid) {
			printf("%s(local)", naddr ? " " : "");
		}
		putchar('\n');
	}

	if (st->groups_rc < 0) {
		printf("\nCPG Groups: unknown: %s\n",
		       haq_strerror(st->groups_rc));
		return;
	}
	printf("\nCPG Groups (%zu):\n", haq_grouplist_count(st->groups));
	for (size_t i = 0; i < haq_grouplist_count(st->groups); i++) {
		size_t len = 0;
		const char *name = haq_grouplist_name(st->groups, i, &len);
		size_t nm = haq_grouplist_member_count(st->groups, i);

		printf("  * ");
		print_bytes(name, len);
		printf(" (%zu member%s):", nm, nm == 1 ? "" : "s");
		for (size_t j = 0; j < nm; j++) {
			uint32_t nodeid = 0;
			uint32_t pid = 0;

			haq_grouplist_member(st->groups, i, j, &nodeid, &pid);
			node_label(st, nodeid, label, sizeof(label));
			printf(" %s/%" PRIu32, label, pid);
		}
		putchar('\n');
	}
}

/*
 * The first part that could not be read, or 0. A cluster without a name is
 * allowed (-ENOENT); anything else missing makes the status incomplete.
 */
static int
status_error(const struct status *st)
{
	if (st->quorum_rc < 0) {
		return st->quorum_rc;
	}
	if (st->nodelist_rc < 0) {
		return st->nodelist_rc;
	}
	if (st->groups_rc < 0) {
		return st->groups_rc;
	}
	if (st->cluster_name_rc < 0 && st->cluster_name_rc != -ENOENT) {
		return st->cluster_name_rc;
	}
	return 0;
}

static void
status_free(struct status *st)
{
	free(st->cluster_name);
	haq_nodelist_free(st->nodelist);
	haq_grouplist_free(st->groups);
	free(st->qnodes);
	free(st->nodes);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct status st = {0};
	bool json = false;
	long timeout_s = DEFAULT_TIMEOUT_S;
	uint64_t deadline;
	haq_ctx_t *ctx;
	char *end;
	int opt;
	int rc;

	while ((opt = getopt_long(argc, argv, "jt:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 't':
			errno = 0;
			timeout_s = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' ||
			    timeout_s < 0 || timeout_s > 86400) {
				fprintf(stderr,
					PROG ": --timeout: not a number of "
					     "seconds (0..86400): '%s'\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			st.verbose++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_QUORATE;
		case 'V':
			printf(PROG " (libhaq) %s\n", haq_version_string());
			return EXIT_QUORATE;
		default:
			short_usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		short_usage();
		return EXIT_USAGE;
	}

	rc = haq_ctx_new(&ctx, NULL);
	if (rc < 0) {
		fprintf(stderr, PROG ": cannot connect to corosync: %s\n",
			haq_strerror(rc));
		return EXIT_ERROR;
	}
	haq_ctx_set_log(ctx, log_cb, &st);
	deadline = now_ms() + (uint64_t)timeout_s * 1000;

	haq_ctx_local_nodeid(ctx, &st.local_nodeid);
	st.cluster_name_rc = haq_config_cluster_name(ctx, &st.cluster_name);
	st.nodelist_rc = haq_config_nodelist(ctx, &st.nodelist);
	read_quorum(ctx, &st, deadline);
	read_groups(ctx, &st, deadline);

	if (build_nodes(&st) < 0) {
		fprintf(stderr, PROG ": %s\n", haq_strerror(-ENOMEM));
		status_free(&st);
		haq_ctx_free(ctx);
		return EXIT_ERROR;
	}
	if (json) {
		print_json(&st);
	} else {
		print_text(&st);
	}

	rc = status_error(&st);
	if (rc < 0) {
		fprintf(stderr, PROG ": the status is incomplete: %s\n",
			haq_strerror(rc));
		rc = EXIT_ERROR;
	} else {
		rc = st.quorate ? EXIT_QUORATE : EXIT_NOT_QUORATE;
	}
	status_free(&st);
	haq_ctx_free(ctx);
	return rc;
}
