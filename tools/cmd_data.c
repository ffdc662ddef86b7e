/*
 * cmd_data.c -- the data commands: put, get, del, add, rm, members, show,
 * ls and history. Each opens the replica (cli_open: the recorded replica
 * id, an fsync per write), does one thing and closes it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "DOC FIELD" for messages. */
static int fail_at(const cli *c, int err, const char *doc, const char *field)
{
	char what[2 * CAIRN_MAX_ID_BYTES + 8];
	if (field != NULL)
		snprintf(what, sizeof(what), "%s %s", doc, field);
	else
		snprintf(what, sizeof(what), "%s", doc);
	if (err == CAIRN_ENOTFOUND)
		return cli_error(c, CLI_DATA, "%s: %s", what,
		                 field != NULL ? "no such field"
		                               : "no such document");
	return cli_fail(c, err, what);
}

/* The document `doc`, or an error message and exit code. */
static int find_doc(cli *c, const char *doc, const char *field, cairn_doc **out)
{
	int err = cairn_replica_find(cairn_store_replica(c->store), doc, out);
	if (err == CAIRN_ENOTFOUND)
		return cli_error(c, CLI_DATA, "%s%s%s: no such %s", doc,
		                 field != NULL ? " " : "",
		                 field != NULL ? field : "",
		                 field != NULL ? "field" : "document");
	return err == 0 ? 0 : fail_at(c, err, doc, field);
}

/*
 * The live values of a register (winner first), or its members if `set`,
 * in a malloc'd array *out of *n (free it). A cairn_err on failure.
 */
static int read_field(const cairn_doc *d, const char *field, bool set,
                      cairn_value **out, size_t *n)
{
	size_t cap = 8;
	for (;;) {
		cairn_value *v = malloc(cap * sizeof(*v));
		if (v == NULL)
			return CAIRN_ENOMEM;
		int err = set ? cairn_doc_members(d, field, v, cap, n)
		              : cairn_doc_get_all(d, field, v, NULL, cap, n);
		if (err == 0) {
			*out = v;
			return 0;
		}
		free(v);
		if (err != CAIRN_ESPACE)
			return err;
		cap = *n;
	}
}

/* Append "[v, v, ...]". */
static int append_array(const cli *c, const cairn_value *v, size_t n,
                        cairn_buf *out)
{
	int rc = cli_appends(c, out, "[");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			rc = cli_appends(c, out, ", ");
		if (rc == 0)
			rc = cli_value_json(c, &v[i], out);
	}
	return rc != 0 ? rc : cli_appends(c, out, "]");
}

/* put, add and rm: parse the value, write, close (durable). */
static int write_value(cli *c, int which)
{
	const char *doc = c->args[0], *field = c->args[1];
	cairn_buf scratch;
	cairn_buf_init(&scratch, NULL);
	cairn_value v;
	int rc = cli_parse_value(c, c->args[2], &scratch, &v);
	if (rc == 0)
		rc = cli_open(c);
	if (rc == 0) {
		int err = which == 0 ? cairn_store_set(c->store, doc, field, &v,
		                                       0, NULL, NULL)
		          : which == 1 ? cairn_store_add(c->store, doc, field,
		                                         &v, NULL, NULL)
		                       : cairn_store_rm(c->store, doc, field,
		                                        &v, NULL, NULL);
		if (err == CAIRN_ENOTFOUND && which == 2)
			rc = cli_error(c, CLI_DATA, "%s %s: %s is not a member",
			               doc, field, c->args[2]);
		else if (err != 0)
			rc = fail_at(c, err, doc, field);
		rc = cli_close(c, rc);
	}
	cairn_buf_free(&scratch);
	return rc;
}

int cli_cmd_put(cli *c)
{
	return write_value(c, 0);
}

int cli_cmd_add(cli *c)
{
	return write_value(c, 1);
}

int cli_cmd_rm(cli *c)
{
	return write_value(c, 2);
}

int cli_cmd_del(cli *c)
{
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	int err = cairn_store_del(c->store, c->args[0], c->args[1], NULL, NULL);
	if (err != 0)
		rc = fail_at(c, err, c->args[0], c->args[1]);
	return cli_close(c, rc);
}

int cli_cmd_declare(cli *c)
{
	cairn_policy policy;
	if (cairn_policy_parse(c->args[1], &policy) != 0)
		return cli_error(c, CLI_USAGE,
		                 "%s: not a policy (lww, fww, priority, multi)",
		                 c->args[1]);
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	const char *field = c->nargs > 2 ? c->args[2] : NULL;
	int err = cairn_store_declare(c->store, c->args[0], field, policy);
	if (err == CAIRN_EPOLICY)
		rc = cli_error(
		        c, CLI_DATA,
		        "%s%s%s: another policy is declared, or a register "
		        "there already holds a value",
		        c->args[0], field ? " " : "", field ? field : "");
	else if (err != 0)
		rc = fail_at(c, err, c->args[0], field ? field : "");
	return cli_close(c, rc);
}

int cli_cmd_get(cli *c)
{
	const char *doc = c->args[0], *field = c->args[1];
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_doc *d = NULL;
	cairn_value *v = NULL;
	size_t n = 0;
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	rc = find_doc(c, doc, field, &d);
	if (rc == 0) {
		int err = read_field(d, field, false, &v, &n);
		if (err == CAIRN_EKIND)
			rc = cli_error(c, CLI_DATA,
			               "%s %s: a set (print it with `cairn "
			               "members`)",
			               doc, field);
		else if (err != 0)
			rc = fail_at(c, err, doc, field);
	}
	if (rc == 0)
		rc = n == 1 ? cli_value_json(c, &v[0], &out)
		            : append_array(c, v, n, &out);
	if (rc == 0)
		rc = cli_appends(c, &out, "\n");
	if (rc == 0)
		rc = cli_write_out(c, &out);
	free(v);
	cairn_buf_free(&out);
	return cli_close(c, rc);
}

int cli_cmd_members(cli *c)
{
	const char *doc = c->args[0], *field = c->args[1];
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_doc *d = NULL;
	cairn_value *v = NULL;
	size_t n = 0;
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	/* An absent document, like an absent field, is an empty set. */
	int err = cairn_replica_find(cairn_store_replica(c->store), doc, &d);
	if (err == 0)
		err = read_field(d, field, true, &v, &n);
	if (err != 0 && err != CAIRN_ENOTFOUND)
		rc = fail_at(c, err, doc, field);
	if (rc == 0)
		rc = append_array(c, v, n, &out);
	if (rc == 0)
		rc = cli_appends(c, &out, "\n");
	if (rc == 0)
		rc = cli_write_out(c, &out);
	free(v);
	cairn_buf_free(&out);
	return cli_close(c, rc);
}

/* Append one field of `show`: a value, an array, or {"values": [...]}. */
static int show_field(cli *c, const cairn_doc *d, const char *doc,
                      const char *field, cairn_buf *out)
{
	cairn_field_info info;
	int err = cairn_doc_field_info(d, field, &info);
	if (err != 0)
		return fail_at(c, err, doc, field);
	bool set = info.kind == CAIRN_KIND_SET;
	cairn_value *v = NULL;
	size_t n = 0;
	err = read_field(d, field, set, &v, &n);
	if (err != 0)
		return fail_at(c, err, doc, field);
	int rc;
	if (set)
		rc = append_array(c, v, n, out);
	else if (n == 1)
		rc = cli_value_json(c, &v[0], out);
	else {
		rc = cli_appends(c, out, "{\"values\": ");
		if (rc == 0)
			rc = append_array(c, v, n, out);
		if (rc == 0)
			rc = cli_appends(c, out, "}");
	}
	free(v);
	return rc;
}

int cli_cmd_show(cli *c)
{
	const char *doc = c->args[0];
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_doc *d = NULL;
	const char **names = NULL;
	size_t n = 0;
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	rc = find_doc(c, doc, NULL, &d);
	if (rc == 0) {
		n = cairn_doc_field_count(d);
		names = malloc((n > 0 ? n : 1) * sizeof(*names));
		int err = names == NULL ? CAIRN_ENOMEM
		                        : cairn_doc_fields(d, names, n, &n);
		if (err != 0)
			rc = fail_at(c, err, doc, NULL);
		else if (n == 0)
			rc = cli_error(c, CLI_DATA, "%s: no such document",
			               doc);
	}
	if (rc == 0)
		rc = cli_appends(c, &out, "{\n");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = cli_appends(c, &out, "  ");
		if (rc == 0)
			rc = cli_string_json(c, names[i], strlen(names[i]),
			                     &out);
		if (rc == 0)
			rc = cli_appends(c, &out, ": ");
		if (rc == 0)
			rc = show_field(c, d, doc, names[i], &out);
		if (rc == 0)
			rc = cli_appends(c, &out, i + 1 < n ? ",\n" : "\n");
	}
	if (rc == 0)
		rc = cli_appends(c, &out, "}\n");
	if (rc == 0)
		rc = cli_write_out(c, &out);
	free(names);
	cairn_buf_free(&out);
	return cli_close(c, rc);
}

int cli_cmd_ls(cli *c)
{
	const char *prefix = c->nargs > 0 ? c->args[0] : "";
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	const cairn_replica *r = cairn_store_replica(c->store);
	size_t cap = cairn_replica_doc_count(r), n = 0;
	const char **ids = malloc((cap > 0 ? cap : 1) * sizeof(*ids));
	int err = ids == NULL ? CAIRN_ENOMEM
	                      : cairn_replica_docs(r, prefix, ids, cap, &n);
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	if (err != 0)
		rc = cli_fail(c, err, "listing documents");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* A document whose fields were all deleted keeps its
		 * history, but it is not listed: ls lists content. */
		cairn_doc *d = NULL;
		if (cairn_replica_find(r, ids[i], &d) != 0 ||
		    cairn_doc_field_count(d) == 0)
			continue;
		rc = cli_appends(c, &out, ids[i]);
		if (rc == 0)
			rc = cli_appends(c, &out, "\n");
	}
	if (rc == 0)
		rc = cli_write_out(c, &out);
	free(ids);
	cairn_buf_free(&out);
	return cli_close(c, rc);
}

int cli_cmd_history(cli *c)
{
	const char *doc = c->args[0], *field = c->args[1];
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_history_entry *h = NULL;
	size_t cap = 16, n = 0;
	int err;
	for (;;) {
		h = malloc(cap * sizeof(*h));
		if (h == NULL) {
			err = CAIRN_ENOMEM;
			break;
		}
		err = cairn_store_history(c->store, doc, field, h, cap, &n);
		if (err != CAIRN_ESPACE)
			break;
		free(h);
		h = NULL;
		cap = n;
	}
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	if (err != 0)
		rc = fail_at(c, err, doc, field);
	else if (n == 0)
		rc = cli_error(c, CLI_DATA, "%s %s: no history", doc, field);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char line[128];
		char time[64];
		cli_format_time(CAIRN_HLC_MS(h[i].stamp.hlc), time);
		snprintf(line, sizeof(line),
		         "%s\t%" PRIu64 "\t%016" PRIx64 "\t", time,
		         (uint64_t)CAIRN_HLC_COUNTER(h[i].stamp.hlc),
		         (uint64_t)h[i].stamp.replica);
		rc = cli_appends(c, &out, line);
		if (rc == 0)
			rc = cli_value_json(c, &h[i].value, &out);
		if (rc == 0)
			rc = cli_appends(c, &out,
			                 h[i].live ? "\tlive\n" : "\told\n");
	}
	if (rc == 0)
		rc = cli_write_out(c, &out);
	free(h);
	cairn_buf_free(&out);
	return cli_close(c, rc);
}
