/*
 * cli.h -- the pieces of the cairn command shared by its source files.
 *
 * The command uses the public API only (include/cairn.h): it is a program
 * like any a user writes. docs/CLI.md is its manual.
 */
#ifndef CAIRN_TOOLS_CLI_H
#define CAIRN_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cairn.h"
#include "cairn/json.h"

/*
 * Exit codes (docs/CLI.md, "Exit status"):
 *   0  success;
 *   1  usage: an unknown command or option, a missing or extra argument,
 *      a malformed mesh key;
 *   2  data: what was asked for is not there or does not fit (no such
 *      document or field, a set where a register was expected, a
 *      first-writer-wins field already set, malformed import input);
 *   3  replica: the replica cannot be used (not initialised, held by
 *      another process, corrupt, an I/O error, a full disk).
 */
enum {
	CLI_OK = 0,
	CLI_USAGE = 1,
	CLI_DATA = 2,
	CLI_REPLICA = 3,
};

/* Options a command accepts besides --help and --dir. */
enum {
	CLI_OPT_MESH_KEY = 1, /* --mesh-key KEY */
	CLI_OPT_REPLICA = 2,  /* --replica */
	CLI_OPT_JSON = 4,     /* --json (accepted; output is always JSON) */
};

typedef struct cli cli;

typedef struct cli_command {
	const char *name;
	const char *synopsis; /* after "cairn [--dir DIR] <name> " */
	const char *summary;  /* one line for `cairn --help` */
	const char *help;     /* the rest of `cairn <name> --help` */
	int min_args;
	int max_args;
	unsigned options; /* CLI_OPT_* */
	int (*run)(cli *c);
} cli_command;

struct cli {
	const cli_command *cmd;
	const char *dir; /* the replica directory */
	char **args;     /* positional arguments of the command */
	int nargs;
	const char *mesh_key;      /* --mesh-key, or NULL */
	bool replica_flag;         /* --replica */
	cairn_store *store;        /* opened by cli_open() */
	cairn_store_report report; /* of the last open */
	char dir_buf[4096];        /* storage for $HOME/.cairn */
};

/* Print "cairn: <command>: <message>" to stderr; returns `code`. */
int cli_error(const cli *c, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Print the error of a call on (doc, field): a message for the cairn_err,
 * and returns the exit code it maps to (CLI_DATA or CLI_REPLICA).
 */
int cli_fail(const cli *c, int err, const char *what);

/* The exit code for a cairn_err: CLI_REPLICA for the replica's own
 * failures (I/O, full, busy, corrupt, poisoned, memory), else CLI_DATA. */
int cli_exit_code(int err);

/*
 * Open the replica for a data command: replica id 0 (the one recorded in
 * the store), sync policy EVERY, never create. On failure prints the error
 * (with the store's report: the holder's pid, a corruption offset and the
 * hint to run `cairn repair`) and returns the exit code; 0 on success.
 */
int cli_open(cli *c);

/*
 * The two halves of cli_open(), for `cairn init`: open with a config of
 * the caller's (the raw cairn_err, report kept in c->report), and print
 * the message for a failed open (returns the exit code).
 */
int cli_store_open(cli *c, const cairn_store_config *cfg);
int cli_open_error(cli *c, int err);

/* Random bytes for a replica's hash table key (zeros if there are none). */
void cli_random_hash_key(uint8_t key[16]);

/* Close the store opened by cli_open(); returns 0 or an exit code. */
int cli_close(cli *c, int rc);

/*
 * Parse a VALUE or ELEM argument: JSON (cairn_value_from_json) if it
 * parses, else the text itself as a string. A JSON array or object is
 * refused (values are scalars), with a hint to quote it. Bytes of str/bin
 * values live in *scratch. Returns 0 or an exit code (message printed).
 */
int cli_parse_value(const cli *c, const char *arg, cairn_buf *scratch,
                    cairn_value *out);

/* Append v as JSON to *out; 0 or an exit code (message printed). */
int cli_value_json(const cli *c, const cairn_value *v, cairn_buf *out);

/* Append a JSON string holding s[0..len). */
int cli_string_json(const cli *c, const char *s, size_t len, cairn_buf *out);

/* Append raw bytes / a C string; 0 or an exit code on ENOMEM. */
int cli_append(const cli *c, cairn_buf *out, const void *p, size_t n);
int cli_appends(const cli *c, cairn_buf *out, const char *s);

/* Write the buffer to stdout; 0 or CLI_REPLICA with a message. */
int cli_write_out(const cli *c, const cairn_buf *b);

/*
 * Format an HLC's wall-clock part as ISO-8601 UTC with milliseconds:
 * "2025-01-31T23:59:59.123Z" (24 characters and a NUL; the buffer is
 * larger so that the compiler can prove no truncation).
 */
void cli_format_time(uint64_t ms, char out[64]);

/* The commands (cmd_replica.c, cmd_data.c). */
int cli_cmd_init(cli *c);
int cli_cmd_id(cli *c);
int cli_cmd_mesh_key(cli *c);
int cli_cmd_repair(cli *c);
int cli_cmd_export(cli *c);
int cli_cmd_import(cli *c);
int cli_cmd_put(cli *c);
int cli_cmd_get(cli *c);
int cli_cmd_del(cli *c);
int cli_cmd_declare(cli *c);
int cli_cmd_add(cli *c);
int cli_cmd_rm(cli *c);
int cli_cmd_members(cli *c);
int cli_cmd_show(cli *c);
int cli_cmd_ls(cli *c);
int cli_cmd_history(cli *c);

#endif /* CAIRN_TOOLS_CLI_H */
