/*
 * cli_util.c -- what the commands of the cairn tool share: error messages
 * and exit codes, opening the replica, reading values and writing JSON.
 */
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_error(const cli *c, int code, const char *fmt, ...)
{
	va_list ap;
	FILE *f = c != NULL && c->err != NULL ? c->err : stderr;
	fputs("cairn: ", f);
	if (c != NULL && c->cmd != NULL)
		fprintf(f, "%s: ", c->cmd->name);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	return code;
}

int cli_exit_code(int err)
{
	switch (err) {
	case CAIRN_ENOMEM:
	case CAIRN_EIO:
	case CAIRN_EFULL:
	case CAIRN_EBUSY:
	case CAIRN_ECORRUPT:
	case CAIRN_EPOISONED: return CLI_REPLICA;
	default: return CLI_DATA;
	}
}

int cli_fail(const cli *c, int err, const char *what)
{
	const char *hint = "";
	switch (err) {
	case CAIRN_EKIND:
		hint = " (a register is read with `cairn get`, a set with "
		       "`cairn members`)";
		break;
	case CAIRN_EEXIST:
		hint = " (the field is first-writer-wins and already set)";
		break;
	case CAIRN_EPOISONED:
		hint = " (an fsync failed earlier; run the command again)";
		break;
	default: break;
	}
	int os = c->store != NULL ? cairn_store_os_error(c->store) : 0;
	if (os != 0 && cli_exit_code(err) == CLI_REPLICA)
		return cli_error(c, CLI_REPLICA, "%s: %s: %s (errno %d)%s",
		                 what, cairn_strerror(err), strerror(os), os,
		                 hint);
	return cli_error(c, cli_exit_code(err), "%s: %s%s", what,
	                 cairn_strerror(err), hint);
}

/* Random bytes for the replica's hash tables (crdt.h: "give it random
 * bytes where input is untrusted"; import reads files from anywhere). */
void cli_random_hash_key(uint8_t key[16])
{
	if (getentropy(key, 16) != 0)
		memset(key, 0, 16);
}

int cli_store_open(cli *c, const cairn_store_config *cfg)
{
	if (c->store_borrowed)
		return 0; /* the node's, open already */
	memset(&c->report, 0, sizeof(c->report));
	int err = cairn_store_open(c->dir, cfg, &c->store, &c->report);
	if (err != 0)
		c->store = NULL;
	return err;
}

int cli_open_error(cli *c, int err)
{
	const cairn_store_report *rep = &c->report;
	const char *msg = rep->message;
	const char *sep = msg[0] != '\0' ? ": " : "";
	switch (err) {
	case CAIRN_ENOTFOUND:
		return cli_error(c, CLI_REPLICA,
		                 "no replica in %s (create one with `cairn "
		                 "--dir %s init`)",
		                 c->dir, c->dir);
	case CAIRN_EBUSY:
		if (rep->holder_pid > 0)
			return cli_error(
			        c, CLI_REPLICA,
			        "the replica in %s is in use by process "
			        "%ld; try again when it is done",
			        c->dir, rep->holder_pid);
		return cli_error(c, CLI_REPLICA,
		                 "the replica in %s is in use by another "
		                 "process%s%s",
		                 c->dir, sep, msg);
	case CAIRN_ECORRUPT:
		if (rep->path[0] != '\0')
			return cli_error(
			        c, CLI_REPLICA,
			        "the replica in %s is damaged: bad data in "
			        "%s at byte %llu; `cairn --dir %s repair` "
			        "keeps what comes before it and drops the "
			        "rest",
			        c->dir, rep->path,
			        (unsigned long long)rep->offset, c->dir);
		return cli_error(
		        c, CLI_REPLICA,
		        "the replica in %s is damaged%s%s; `cairn --dir "
		        "%s repair` keeps what comes before the damage "
		        "and drops the rest",
		        c->dir, sep, msg, c->dir);
	default: break;
	}
	const char *what = msg[0] != '\0' ? msg : cairn_strerror(err);
	if (rep->os_error != 0)
		return cli_error(c, CLI_REPLICA,
		                 "cannot open the replica in %s: %s (%s)",
		                 c->dir, what, strerror(rep->os_error));
	return cli_error(c, CLI_REPLICA, "cannot open the replica in %s: %s",
	                 c->dir, what);
}

int cli_open(cli *c)
{
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = 0; /* the one recorded in the store */
	cli_random_hash_key(cfg.replica.hash_key);
	cfg.sync = CAIRN_SYNC_EVERY;
	cfg.create = false;
	int err = cli_store_open(c, &cfg);
	return err == 0 ? 0 : cli_open_error(c, err);
}

int cli_close(cli *c, int rc)
{
	if (c->store == NULL || c->store_borrowed)
		return rc;
	int err = cairn_store_close(c->store);
	c->store = NULL;
	if (err != 0 && rc == 0)
		return cli_error(
		        c, CLI_REPLICA,
		        "closing the replica in %s: %s (the last writes "
		        "may not be durable)",
		        c->dir, cairn_strerror(err));
	return rc;
}

int cli_parse_value(const cli *c, const char *arg, cairn_buf *scratch,
                    cairn_value *out)
{
	size_t len = strlen(arg);
	int err = cairn_value_from_json(arg, len, scratch, out);
	if (err == 0)
		return 0;
	if (err != CAIRN_EDECODE)
		return cli_error(c, cli_exit_code(err), "value %s: %s", arg,
		                 cairn_strerror(err));
	/* Not JSON: the text is the string. But text that starts like an
	 * array or an object was most likely meant as one: say so rather
	 * than store it as a string by surprise. */
	size_t k = strspn(arg, " \t\r\n");
	if (arg[k] == '[' || arg[k] == '{')
		return cli_error(
		        c, CLI_DATA,
		        "value %s: not a JSON scalar (values are null, "
		        "true, false, numbers, strings, {\"bin\": ...}, "
		        "{\"float\": ...}; to store this text, give it "
		        "as a JSON string in double quotes)",
		        arg);
	*out = cairn_value_strn(arg, len);
	return 0;
}

int cli_append(const cli *c, cairn_buf *out, const void *p, size_t n)
{
	int err = cairn_buf_append(out, p, n);
	return err == 0 ? 0 : cli_fail(c, err, "output");
}

int cli_appends(const cli *c, cairn_buf *out, const char *s)
{
	return cli_append(c, out, s, strlen(s));
}

int cli_value_json(const cli *c, const cairn_value *v, cairn_buf *out)
{
	int err = cairn_value_to_json(v, out);
	return err == 0 ? 0 : cli_fail(c, err, "formatting a value");
}

int cli_string_json(const cli *c, const char *s, size_t len, cairn_buf *out)
{
	cairn_value v = cairn_value_strn(s, len);
	return cli_value_json(c, &v, out);
}

int cli_write_out(const cli *c, const cairn_buf *b)
{
	if (b->len > 0 && fwrite(b->data, 1, b->len, c->out) != b->len)
		return cli_error(c, CLI_REPLICA, "writing the output failed");
	if (fflush(c->out) != 0)
		return cli_error(c, CLI_REPLICA, "writing the output failed");
	return 0;
}

/*
 * Days since 1970-01-01 to a civil date (proleptic Gregorian), after
 * Howard Hinnant's days_from_civil inverse: no libc time zone state, no
 * locale, correct for every HLC (48 bits of ms is about 8,900 years).
 */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	uint64_t doe = (uint64_t)(z - era * 146097);
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}

void cli_format_time(uint64_t ms, char out[64])
{
	uint64_t secs = ms / 1000;
	int64_t days = (int64_t)(secs / 86400);
	uint64_t rem = secs % 86400;
	int64_t y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	snprintf(out, 64, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y,
	         mo, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
	         (unsigned)(rem % 60), (unsigned)(ms % 1000));
}
