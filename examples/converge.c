/*
 * converge.c -- three devices of one shop edit the same documents while
 * apart, swap their deltas as bytes in a random order (some twice), and end
 * in the same state, byte for byte.
 *
 *   cairn-example-converge [--seed N] [--check]
 *
 * Nothing here touches a network: each device gathers its writes into one
 * cairn_delta and encodes it; the "network" is a shuffled list of byte
 * strings. --check exits 1 unless the replicas converged with the outcomes
 * their policies promise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairn.h>

/* Every cairn call returns 0 or a negative cairn_err. */
static void ok_or_exit(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, cairn_strerror(rc));
		exit(1);
	}
}
#define CHECK(expr) ok_or_exit((expr), #expr)

typedef struct device {
	const char *name;
	cairn_replica *r;
	cairn_delta *outbox; /* local writes not yet sent */
	uint64_t now_ms;     /* this device's wall clock */
} device;

enum { TILL, WEB, TABLET, NDEV };
static device dev[NDEV];

/* A fixed demo clock, so that every run prints the same digests; an app
 * passes the wall clock. */
#define T0 UINT64_C(1735689600000) /* 2025-01-01, Unix ms */

static cairn_doc *doc(device *d, const char *id)
{
	cairn_doc *x;
	CHECK(cairn_replica_doc(d->r, id, &x));
	return x;
}

static void print_value(const cairn_value *v)
{
	switch (v->type) {
	case CAIRN_NIL: printf("nil"); break;
	case CAIRN_BOOL: printf(v->as.b ? "true" : "false"); break;
	case CAIRN_INT: printf("%lld", (long long)v->as.i); break;
	case CAIRN_FLOAT: printf("%g", v->as.f); break;
	case CAIRN_STR:
		printf("\"%.*s\"", (int)v->as.bytes.len,
		       (const char *)v->as.bytes.ptr);
		break;
	case CAIRN_BIN: printf("<%zu bytes>", v->as.bytes.len); break;
	}
}

/* Local writes. Each one gathers its delta into the device's outbox. */
static void set(device *d, const char *id, const char *field, cairn_value v)
{
	d->now_ms += 1000; /* a second passes between edits */
	CHECK(cairn_doc_set(doc(d, id), field, &v, d->now_ms, d->outbox));
	printf("  %-8s sets %s %s = ", d->name, id, field);
	print_value(&v);
	printf("\n");
}

static void tag(device *d, const char *id, const char *e, int add)
{
	cairn_value v = cairn_value_str(e);
	if (add)
		CHECK(cairn_doc_add(doc(d, id), "tags", &v, d->outbox));
	else /* removes only the adds this device has seen */
		CHECK(cairn_doc_rm(doc(d, id), "tags", &v, d->outbox));
	printf("  %-8s %s %s tags \"%s\"\n", d->name,
	       add ? "adds to" : "removes from", id, e);
}

/* A small seeded PRNG (splitmix64), so that a run can be replayed. */
static uint64_t rng;
static uint64_t next_random(void)
{
	uint64_t z = (rng += UINT64_C(0x9E3779B97F4A7C15));
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

/*
 * Send every outbox to both other devices as bytes, shuffled, about a
 * third of the messages twice. Joins are commutative and idempotent, so
 * neither the order nor the duplicates change the outcome.
 */
typedef struct message {
	int from, to;
} message;

static void exchange(void)
{
	message msg[4 * NDEV];
	cairn_buf bytes[NDEV];
	int n = 0, seen[NDEV][NDEV] = {{0}};
	for (int i = 0; i < NDEV; i++) {
		cairn_buf_init(&bytes[i], NULL);
		if (cairn_delta_empty(dev[i].outbox))
			continue;
		CHECK(cairn_delta_encode(dev[i].outbox, &bytes[i]));
		cairn_delta_clear(dev[i].outbox);
		for (int j = 0; j < NDEV; j++)
			if (j != i)
				msg[n++] = (message){i, j};
	}
	for (int k = n - 1; k >= 0; k--) /* duplicates */
		if (next_random() % 3 == 0)
			msg[n++] = msg[k];
	for (int k = n - 1; k > 0; k--) { /* Fisher-Yates shuffle */
		int j = (int)(next_random() % (uint64_t)(k + 1));
		message t = msg[k];
		msg[k] = msg[j];
		msg[j] = t;
	}
	for (int k = 0; k < n; k++) {
		device *to = &dev[msg[k].to];
		cairn_buf *b = &bytes[msg[k].from];
		cairn_delta *in;
		CHECK(cairn_delta_new(NULL, &in));
		/* Bytes from a peer are untrusted: decoding checks them. */
		CHECK(cairn_delta_decode(in, b->data, b->len, NULL));
		CHECK(cairn_replica_join(to->r, in, to->now_ms));
		cairn_delta_free(in);
		printf("  %-8s -> %-8s %4zu bytes%s\n", dev[msg[k].from].name,
		       to->name, b->len,
		       seen[msg[k].from][msg[k].to]++ ? " (again)" : "");
	}
	for (int i = 0; i < NDEV; i++)
		cairn_buf_free(&bytes[i]);
}

/* One replica's view: its digest, documents, fields, values or members. */
static void show(device *d)
{
	const char *ids[16], *fields[16];
	cairn_value vals[16];
	size_t nids, nfields, nvals;
	uint8_t digest[CAIRN_DIGEST_BYTES];
	CHECK(cairn_replica_digest(d->r, digest));
	printf("%s, digest ", d->name);
	for (int i = 0; i < 8; i++)
		printf("%02x", digest[i]);
	printf("\n");
	CHECK(cairn_replica_docs(d->r, NULL, ids, 16, &nids));
	for (size_t i = 0; i < nids; i++) {
		cairn_doc *x = doc(d, ids[i]);
		printf("  %s\n", ids[i]);
		CHECK(cairn_doc_fields(x, fields, 16, &nfields));
		for (size_t f = 0; f < nfields; f++) {
			cairn_field_info fi;
			CHECK(cairn_doc_field_info(x, fields[f], &fi));
			int set = fi.kind == CAIRN_KIND_SET;
			/* A register lists every live value, the one its policy
			 * picks first: concurrent writes all stay live. */
			if (set)
				CHECK(cairn_doc_members(x, fields[f], vals, 16,
				                        &nvals));
			else
				CHECK(cairn_doc_get_all(x, fields[f], vals,
				                        NULL, 16, &nvals));
			printf("    %-8s %s", fields[f], set ? "{" : "");
			for (size_t v = 0; v < nvals; v++) {
				fputs(v == 0 ? "" : set ? ", " : " | ", stdout);
				print_value(&vals[v]);
			}
			if (!set && nvals > 1)
				printf("   (%s)", cairn_policy_name(fi.policy));
			printf("%s\n", set ? "}" : "");
		}
	}
}

/* What the policies promise for this story, on one replica. */
static int promises_kept(device *d)
{
	cairn_value price, owner, urgent = cairn_value_str("urgent");
	cairn_field_info notes;
	CHECK(cairn_doc_get(doc(d, "items/espresso"), "price", &price, NULL));
	CHECK(cairn_doc_field_info(doc(d, "notes/8812"), "text", &notes));
	CHECK(cairn_doc_get(doc(d, "claims/8812"), "by", &owner, NULL));
	return price.type == CAIRN_INT && price.as.i == 260 &&
	       notes.values == 2 &&
	       cairn_doc_contains(doc(d, "tickets/8812"), "tags", &urgent) ==
	               1 &&
	       owner.type == CAIRN_STR && owner.as.bytes.len == 4 &&
	       memcmp(owner.as.bytes.ptr, "till", 4) == 0;
}

int main(int argc, char **argv)
{
	int check = 0;
	uint64_t seed = (uint64_t)time(NULL);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--check") == 0)
			check = 1;
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--seed N] [--check]\n",
			        argv[0]);
			return 2;
		}
	}
	rng = seed;
	printf("seed %llu\n", (unsigned long long)seed);

	/* Every replica makes the same declarations: they are shared
	 * configuration, and a join refuses a delta whose policy differs. */
	const char *names[NDEV] = {"till", "webstore", "tablet"};
	for (int i = 0; i < NDEV; i++) {
		cairn_replica_config cfg;
		cairn_replica_config_init(&cfg);
		cfg.id = 0x7100 + (uint64_t)i; /* an app: from the device key */
		cfg.source_priority = i == TILL ? 10 : 0;
		dev[i].name = names[i];
		dev[i].now_ms = T0;
		CHECK(cairn_replica_new(&cfg, &dev[i].r));
		CHECK(cairn_delta_new(NULL, &dev[i].outbox));
		cairn_replica *r = dev[i].r;
		CHECK(cairn_replica_declare(r, "tickets/", NULL,
		                            CAIRN_POLICY_LWW));
		CHECK(cairn_replica_declare(r, "items/", "price",
		                            CAIRN_POLICY_PRIORITY));
		CHECK(cairn_replica_declare(r, "claims/", NULL,
		                            CAIRN_POLICY_FWW));
		CHECK(cairn_replica_declare(r, "notes/", NULL,
		                            CAIRN_POLICY_MULTI));
	}
	device *till = &dev[TILL], *web = &dev[WEB], *tab = &dev[TABLET];

	printf("\n1. The till opens a ticket and prices an item.\n");
	set(till, "tickets/8812", "subject", cairn_value_str("card reader"));
	set(till, "tickets/8812", "status", cairn_value_str("open"));
	tag(till, "tickets/8812", "hardware", 1);
	tag(till, "tickets/8812", "urgent", 1);
	set(till, "items/espresso", "price", cairn_value_int(250));
	exchange();

	printf("\n2. A minute later, offline, all three edit the same docs.\n");
	till->now_ms = T0 + 60000;
	tab->now_ms = T0 + 61000;
	web->now_ms = T0 + 62000; /* the web store writes last */
	set(till, "claims/8812", "by", cairn_value_str("till"));
	set(till, "tickets/8812", "status", cairn_value_str("in progress"));
	set(till, "items/espresso", "price", cairn_value_int(260));
	set(till, "notes/8812", "text", cairn_value_str("vendor called"));
	set(tab, "tickets/8812", "status", cairn_value_str("closed"));
	tag(tab, "tickets/8812", "urgent", 0);
	tag(tab, "tickets/8812", "screen", 1);
	set(tab, "claims/8812", "by", cairn_value_str("tablet"));
	set(web, "tickets/8812", "status", cairn_value_str("waiting"));
	tag(web, "tickets/8812", "urgent", 1);
	set(web, "items/espresso", "price", cairn_value_int(275));
	set(web, "notes/8812", "text", cairn_value_str("customer emailed"));

	printf("\n3. They meet again; the deltas arrive in this order:\n");
	exchange();

	printf("\n4. What each replica sees:\n");
	int kept = 1, converged = 1;
	cairn_buf enc[NDEV];
	for (int i = 0; i < NDEV; i++) {
		show(&dev[i]);
		kept &= promises_kept(&dev[i]);
		/* Equal states have equal canonical bytes. */
		cairn_buf_init(&enc[i], NULL);
		CHECK(cairn_replica_encode(dev[i].r, &enc[i]));
		converged &= enc[i].len == enc[0].len &&
		             memcmp(enc[i].data, enc[0].data, enc[0].len) == 0;
	}
	printf("\nWhat the policies promised, on every replica: %s\n"
	       "  status lww: the latest write (the web store's) is read\n"
	       "  price  priority: the till's 260 beats the later 275\n"
	       "  text   multi: both notes are kept for the app to resolve\n"
	       "  tags   add-wins: the web store's re-add of \"urgent\" beats\n"
	       "         the tablet's concurrent remove\n"
	       "  by     fww: the till claimed first\n",
	       kept ? "kept" : "BROKEN");

	/* fww: once a claim is live, a local write over it is refused. */
	cairn_value me = cairn_value_str("webstore");
	int rc = cairn_doc_set(doc(web, "claims/8812"), "by", &me, web->now_ms,
	                       NULL);
	printf("webstore tries to claim 8812 now: %s\n", cairn_err_name(rc));
	printf("converged: %s\n", converged ? "yes" : "NO");

	for (int i = 0; i < NDEV; i++) {
		cairn_buf_free(&enc[i]);
		cairn_delta_free(dev[i].outbox);
		cairn_replica_free(dev[i].r);
	}
	return check && !(converged && kept && rc == CAIRN_EEXIST);
}
