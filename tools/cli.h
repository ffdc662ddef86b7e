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
 *      another process, corrupt, an I/O error, a full disk);
 *   4  no node: `status` and `peers` found no `cairn node` running on
 *      the replica.
 */
enum {
	CLI_OK = 0,
	CLI_USAGE = 1,
	CLI_DATA = 2,
	CLI_REPLICA = 3,
	CLI_NOT_RUNNING = 4,
};

/* Options a command accepts besides --help and --dir. */
enum {
	CLI_OPT_MESH_KEY = 1, /* --mesh-key KEY */
	CLI_OPT_REPLICA = 2,  /* --replica */
	CLI_OPT_JSON = 4,     /* --json */
	CLI_OPT_NODE = 8,     /* --listen, --peer, --allow (repeatable) */
};

/* How a command relates to a running `cairn node` (cli_command.flags). */
enum {
	/* While a node runs on the replica (it holds the store), run the
	 * command inside it, through the control socket. */
	CLI_VIA_NODE = 1,
	/* Only a running node can answer (status, peers): without one the
	 * command runs here and says so. */
	CLI_NODE_ONLY = 2,
	/* args[0] is a FILE to read, "-" for standard input: through the
	 * control socket its bytes travel with the request. */
	CLI_READS_FILE = 4,
};

/* The most --listen, --peer or --allow options of one kind. */
#define CLI_MAX_NODE_OPTS 64

typedef struct cli cli;

typedef struct cli_command {
	const char *name;
	const char *synopsis; /* after "cairn [--dir DIR] <name> " */
	const char *summary;  /* one line for `cairn --help` */
	const char *help;     /* the rest of `cairn <name> --help` */
	int min_args;
	int max_args;
	unsigned options; /* CLI_OPT_* */
	unsigned flags;   /* CLI_VIA_NODE, ... */
	int (*run)(cli *c);
} cli_command;

/* The running node a command executes in (cmd_node.c). */
typedef struct cli_node cli_node;

struct cli {
	const cli_command *cmd;
	const char *dir; /* the replica directory */
	char **args;     /* positional arguments of the command */
	int nargs;
	const char *mesh_key;                  /* --mesh-key, or NULL */
	bool replica_flag;                     /* --replica */
	bool json;                             /* --json */
	const char *listen[CLI_MAX_NODE_OPTS]; /* --listen, --peer, --allow */
	const char *peer[CLI_MAX_NODE_OPTS];
	const char *allow[CLI_MAX_NODE_OPTS];
	int nlisten, npeer, nallow;
	cairn_store *store;        /* opened by cli_open() */
	cairn_store_report report; /* of the last open */
	char dir_buf[4096];        /* storage for $HOME/.cairn */

	/* Where the command writes: stdout and stderr, unless it runs
	 * inside a node for a client of the control socket. */
	FILE *out, *err;
	/* Inside a node: the node (NULL otherwise), whose open store the
	 * command uses (store_borrowed: cli_open and cli_close leave it
	 * alone), and the bytes of a CLI_READS_FILE argument. */
	cli_node *node;
	bool store_borrowed;
	const uint8_t *input;
	size_t input_len;
	bool has_input;
};

/* The command called `name`, or NULL. */
const cli_command *cli_find_command(const char *name);

/*
 * Read the arguments of c->cmd from argv[0..argc) (what follows the
 * command's name): options anywhere before "--", the positional ones
 * gathered at the front of argv and kept in c->args. --dir goes to *dir.
 * Returns 0; -1 when --help was given (the caller prints the help); or
 * an exit code (the message printed to c->err).
 */
int cli_parse_args(cli *c, int argc, char **argv, const char **dir);

/*
 * The control socket of the replica in c->dir: DIR/control.sock. 0, or
 * -1 when the path does not fit a Unix socket address.
 */
int cli_control_path(const cli *c, char *out, size_t cap);

/*
 * The control protocol (control.c has the description): a request is a
 * command line and the bytes of a file argument; the answer, the
 * command's output and exit status.
 */
#define CLI_CTL_VERSION 1
#define CLI_CTL_MAX (UINT32_C(64) << 20) /* a request body, at most */
#define CLI_CTL_MAX_ARGS 16

typedef struct cli_ctl_request {
	int argc;
	char *argv[CLI_CTL_MAX_ARGS + 1]; /* into strings */
	const uint8_t *input;             /* into the body */
	size_t input_len;
	char *strings;
} cli_ctl_request;

/* Append a whole request (with its length) to *out: 0, CAIRN_ELIMIT (too
 * many arguments, too many bytes) or CAIRN_ENOMEM; *out unchanged then. */
int cli_ctl_encode(int argc, char *const *argv, const uint8_t *input,
                   size_t input_len, cairn_buf *out);
/* Read a request body (what follows the length): NULL and *r, else what
 * is wrong with it (then free *r all the same). */
const char *cli_ctl_decode(const uint8_t *body, size_t len, cli_ctl_request *r);
void cli_ctl_request_free(cli_ctl_request *r);
uint32_t cli_ctl_get_u32(const uint8_t *p);

/*
 * Run c->cmd in the node that runs on c->dir, if one does (control.c).
 * Returns 0 with *status the command's exit status, its output copied to
 * c->out and c->err; 1 when no node answers on the control socket (run
 * the command here); or an exit code (message printed).
 */
int cli_control_call(cli *c, int *status);

/* Print "cairn: <command>: <message>" to c->err (stderr if c is NULL);
 * returns `code`. */
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

/* Read a file ("-": standard input) into *b; 0 or an errno. */
int cli_read_file(const char *path, cairn_buf *b);

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

/* Write the buffer to c->out; 0 or CLI_REPLICA with a message. */
int cli_write_out(const cli *c, const cairn_buf *b);

/*
 * Format an HLC's wall-clock part as ISO-8601 UTC with milliseconds:
 * "2025-01-31T23:59:59.123Z" (24 characters and a NUL; the buffer is
 * larger so that the compiler can prove no truncation).
 */
void cli_format_time(uint64_t ms, char out[64]);

/* The commands (cmd_replica.c, cmd_data.c, cmd_node.c). */
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
int cli_cmd_node(cli *c);
int cli_cmd_status(cli *c);
int cli_cmd_peers(cli *c);

#endif /* CAIRN_TOOLS_CLI_H */
