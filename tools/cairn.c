/*
 * cairn.c -- the cairn command: a device's replica from the shell.
 *
 *   cairn [--dir DIR] COMMAND [ARGS...]
 *
 * This file reads the command line and prints the help; cmd_replica.c,
 * cmd_data.c and cmd_node.c hold the commands, cli_util.c what they share,
 * control.c the control socket through which a command reaches a running
 * node. docs/CLI.md is the manual, and the help texts below say the same
 * in short.
 *
 * Options are the arguments that start with "--", anywhere on the line;
 * "--" ends them, so `cairn put doc note -- --draft` stores "--draft". A
 * single dash starts no option, so negative numbers need no quoting.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
        {"init", "[--mesh-key KEY]",
         "create this device's identity, replica and mesh key",
         "Create the replica directory with a new device identity (an X25519\n"
         "key pair; the device id is a hash of its public key) and an empty\n"
         "store. Without --mesh-key a new mesh key is made: give it to your\n"
         "other devices (`cairn mesh-key`). With --mesh-key KEY this device\n"
         "joins the mesh whose key that is.\n"
         "Refuses if the directory already holds a replica.\n"
         "Prints the new device id.\n",
         0, 0, CLI_OPT_MESH_KEY, CLI_VIA_NODE, cli_cmd_init},
        {"id", "[--replica]", "print this device's id",
         "Print the device id: 52 characters of base32, the hash of the\n"
         "device's public key. Peers know the device by this id.\n"
         "With --replica, print the replica id instead (16 hex digits): the\n"
         "first 64 bits of the device id, which `cairn history` shows as the\n"
         "author of each value.\n",
         0, 0, CLI_OPT_REPLICA, CLI_VIA_NODE, cli_cmd_id},
        {"mesh-key", "", "print the mesh key (a secret)",
         "Print the mesh key: 52 characters of base32. Give it to a device\n"
         "you want in this mesh, which runs `cairn init --mesh-key KEY`.\n"
         "Whoever has it can join the mesh: keep it secret.\n",
         0, 0, 0, CLI_VIA_NODE, cli_cmd_mesh_key},
        {"put", "DOC FIELD VALUE", "set a register field",
         "Set FIELD of document DOC to VALUE, replacing the values this\n"
         "device has seen. VALUE is a JSON scalar: null, true, false, a\n"
         "number (an integer without '.' or exponent, else a float), a\n"
         "string in double quotes, {\"bin\": \"<base64>\"} or\n"
         "{\"float\": \"NaN\"}. Anything that does not parse as JSON is\n"
         "stored as the string it is: `cairn put t1 subject hello` stores\n"
         "\"hello\", `cairn put t1 count 3` the integer 3, and\n"
         "`cairn put t1 zip '\"01234\"'` the string \"01234\". A JSON array\n"
         "or object is refused: values are scalars.\n"
         "The write is durable (fsync) when the command returns; while a\n"
         "`cairn node` runs on the replica, it is on its way to the node's\n"
         "peers too.\n",
         3, 3, 0, CLI_VIA_NODE, cli_cmd_put},
        {"declare", "PREFIX POLICY [FIELD]",
         "declare the conflict policy of a collection or field",
         "Declare how registers of the documents whose id starts with\n"
         "PREFIX (\"\" for all) resolve concurrent writes: POLICY is lww\n"
         "(last writer wins, the default), fww (first writer wins: a\n"
         "second write is refused), priority (the device with the higher\n"
         "source priority wins, then lww) or multi (every concurrent value\n"
         "is kept; `cairn get` prints them all). With FIELD, only that\n"
         "field of those documents. The declaration is kept with the data;\n"
         "every device of the mesh must make the same ones. Changing the\n"
         "policy of a register that holds a value is refused.\n",
         2, 3, 0, CLI_VIA_NODE, cli_cmd_declare},
        {"get", "DOC FIELD", "print a register field as JSON",
         "Print the value of register FIELD of document DOC as JSON. When\n"
         "the register holds several live values (written concurrently on\n"
         "devices that had not seen each other's), print a JSON array of\n"
         "them, the one the register's policy selects first. A set field is\n"
         "an error: use `cairn members`.\n",
         2, 2, 0, CLI_VIA_NODE, cli_cmd_get},
        {"del", "DOC FIELD", "delete a field",
         "Delete FIELD of document DOC, register or set: every value or\n"
         "member this device has seen is removed.\n",
         2, 2, 0, CLI_VIA_NODE, cli_cmd_del},
        {"add", "DOC FIELD ELEM", "add an element to a set field",
         "Add ELEM to set FIELD of document DOC, creating the set. ELEM is\n"
         "read like the VALUE of `cairn put`. A concurrent remove that did\n"
         "not see this add does not undo it (add wins).\n",
         3, 3, 0, CLI_VIA_NODE, cli_cmd_add},
        {"rm", "DOC FIELD ELEM", "remove an element from a set field",
         "Remove ELEM (read like the VALUE of `cairn put`) from set FIELD of\n"
         "document DOC. An element that is not a member is an error.\n",
         3, 3, 0, CLI_VIA_NODE, cli_cmd_rm},
        {"members", "DOC FIELD", "print a set field as a JSON array",
         "Print the members of set FIELD of document DOC as a JSON array in\n"
         "cairn's value order (null, booleans, integers, floats, strings,\n"
         "binaries; each group sorted). A field that does not exist is an\n"
         "empty set: [].\n",
         2, 2, 0, CLI_VIA_NODE, cli_cmd_members},
        {"show", "DOC [--json]", "print a document as one JSON object",
         "Print document DOC as one JSON object, a field per line, sorted by\n"
         "name: a register as its value, a set as an array of its members,\n"
         "and a register with several live values as {\"values\": [...]}.\n"
         "The output is JSON with or without --json.\n",
         1, 1, CLI_OPT_JSON, CLI_VIA_NODE, cli_cmd_show},
        {"ls", "[PREFIX]", "list document ids",
         "Print the ids of the documents with live fields, one per line,\n"
         "sorted bytewise; with PREFIX, only the ids that start with it.\n",
         0, 1, 0, CLI_VIA_NODE, cli_cmd_ls},
        {"history", "DOC FIELD", "print the recent values of a register",
         "Print the values register FIELD of document DOC held or was\n"
         "written with, newest first, as far back as the replica keeps\n"
         "(16 values by default), one per line, tab-separated:\n"
         "  TIME     the write's HLC time, ISO-8601 UTC with milliseconds\n"
         "  COUNTER  the HLC counter within that millisecond\n"
         "  AUTHOR   the writer's replica id, 16 hex digits (`cairn id\n"
         "           --replica` prints this device's)\n"
         "  VALUE    the value as JSON\n"
         "  STATE    \"live\" for a current value, else \"old\"\n",
         2, 2, 0, CLI_VIA_NODE, cli_cmd_history},
        {"export", "", "print the whole replica as JSON",
         "Print every document of the replica as one JSON document (the\n"
         "format of docs/JSON.md): documents, fields, values and sorted set\n"
         "members. It holds no key and nothing specific to this device:\n"
         "`cairn import` reads it back on any replica.\n",
         0, 0, 0, CLI_VIA_NODE, cli_cmd_export},
        {"import", "FILE", "write the values of an export",
         "Read an export (see `cairn export`) from FILE, or from standard\n"
         "input when FILE is \"-\", and write each of its values as a local\n"
         "write of this device: registers are set and set members added.\n"
         "All or nothing: malformed input writes nothing. Prints the number\n"
         "of writes made.\n",
         1, 1, 0, CLI_VIA_NODE | CLI_READS_FILE, cli_cmd_import},
        {"repair", "", "keep the good prefix of a damaged replica",
         "When a command reports that the replica is corrupt, keep the\n"
         "records before the first bad one and drop the rest (they are\n"
         "lost; `cairn export` a copy from another device to restore them).\n"
         "Prints what was kept and dropped. Nothing happens to a healthy\n"
         "replica.\n",
         0, 0, 0, 0, cli_cmd_repair},
        {"node",
         "[--listen HOST:PORT]... [--peer HOST:PORT]... [--allow ID]...",
         "run the replica: sync with peers, serve the other commands",
         "Run this replica as a node, in the foreground, until SIGINT or\n"
         "SIGTERM: listen for peers on each --listen address (127.0.0.1:7000,\n"
         "[::1]:7000, 0.0.0.0:7000; port 0 picks one), keep a link to each\n"
         "--peer (redialled with backoff when it drops), and sync the\n"
         "replica with every peer of the mesh; with --allow, only with the\n"
         "devices named (52-character device ids; repeat the option).\n"
         "Logs one line per event on standard error.\n"
         "While it runs, the other commands on this replica (put, get,\n"
         "export, ...) are run by the node, through the control socket\n"
         "control.sock in the replica directory, so that edits reach the\n"
         "peers at once; `cairn status` and `cairn peers` ask it how it is\n"
         "doing.\n",
         0, 0, CLI_OPT_NODE, 0, cli_cmd_node},
        {"status", "[--json]", "how the running node is doing",
         "Ask the node that runs on this replica (`cairn node`) for its\n"
         "status: this device, the addresses it listens on, and its peers\n"
         "(as `cairn peers` prints them). With --json, one JSON object.\n"
         "Exits 4 when no node runs on the replica.\n",
         0, 0, CLI_OPT_JSON, CLI_NODE_ONLY, cli_cmd_status},
        {"peers", "[--json]", "the running node's peers",
         "Print the peers of the node that runs on this replica, one per\n"
         "line, tab-separated: DEVICE (\"-\" until a handshake named it),\n"
         "ADDRESS, DIRECTION (out: dialled, in: it came to us), STATE (up,\n"
         "down), LAST-SYNC (when both sides were last caught up, or\n"
         "\"never\"), OUT (records it has not acknowledged), IN (its\n"
         "records not yet joined here), BYTES-IN, BYTES-OUT, and why the\n"
         "last link ended, if it did. With --json, a JSON array.\n"
         "Exits 4 when no node runs on the replica.\n",
         0, 0, CLI_OPT_JSON, CLI_NODE_ONLY, cli_cmd_peers},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: cairn [--dir DIR] COMMAND [ARGS...]\n"
	           "\n"
	           "cairn keeps this device's replica of your documents and "
	           "syncs\n"
	           "it with your other devices. Commands:\n"
	           "\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s %s", commands[i].name,
		         commands[i].synopsis);
		if (strlen(left) > 26)
			snprintf(left, sizeof(left), "%s ...",
			         commands[i].name);
		fprintf(f, "  %-26s %s\n", left, commands[i].summary);
	}
	fprintf(f,
	        "\n"
	        "Options:\n"
	        "  --dir DIR    the replica directory (default: $CAIRN_DIR, "
	        "else $HOME/.cairn)\n"
	        "  --help       this text; `cairn COMMAND --help` describes a "
	        "command\n"
	        "  --version    the version of cairn\n"
	        "  --           end of options: later arguments starting with "
	        "\"--\" are values\n"
	        "\n"
	        "Exit status: 0 success, 1 usage error, 2 data error (not "
	        "found,\n"
	        "wrong kind, malformed input), 3 the replica cannot be used "
	        "(not\n"
	        "initialised, in use by another process, corrupt, I/O error), "
	        "4 no\n"
	        "node runs on the replica (status, peers). See docs/CLI.md.\n");
}

static void command_help(const cli_command *cmd)
{
	printf("usage: cairn [--dir DIR] %s%s%s\n\n%s", cmd->name,
	       cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis, cmd->help);
	printf("\nOptions: --dir DIR (the replica directory; default "
	       "$CAIRN_DIR, else\n$HOME/.cairn), --help.\n");
}

const cli_command *cli_find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * Take an option's value: "--name=value" or "--name value". Returns the
 * value or NULL (missing), advancing *i past what it used.
 */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (a[n] == '=')
		return a + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	(*i)++;
	return argv[*i];
}

static bool is_option(const char *a, const char *name)
{
	size_t n = strlen(name);
	return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* The replica directory: --dir, else $CAIRN_DIR, else $HOME/.cairn. */
static int resolve_dir(cli *c, const char *given)
{
	if (given == NULL || given[0] == '\0')
		given = getenv("CAIRN_DIR");
	if (given != NULL && given[0] != '\0') {
		c->dir = given;
		return 0;
	}
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0')
		return cli_error(c, CLI_USAGE,
		                 "no replica directory: give --dir DIR or set "
		                 "CAIRN_DIR (HOME is not set either)");
	int n = snprintf(c->dir_buf, sizeof(c->dir_buf), "%s/.cairn", home);
	if (n < 0 || (size_t)n >= sizeof(c->dir_buf))
		return cli_error(c, CLI_USAGE, "$HOME is too long");
	c->dir = c->dir_buf;
	return 0;
}

/* Keep a repeatable option's value in list[*n]; 0 or an exit code. */
static int keep(cli *c, const char **list, int *n, const char *opt,
                const char *value)
{
	if (value == NULL)
		return cli_error(c, CLI_USAGE, "%s needs a value", opt);
	if (*n >= CLI_MAX_NODE_OPTS)
		return cli_error(c, CLI_USAGE, "more than %d %s options",
		                 CLI_MAX_NODE_OPTS, opt);
	list[(*n)++] = value;
	return 0;
}

int cli_parse_args(cli *c, int argc, char **argv, const char **dir)
{
	/* Positional arguments are gathered at the front of argv. */
	c->args = argv;
	c->nargs = 0;
	bool options_done = false;
	unsigned opts = c->cmd->options;
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		int rc = 0;
		if (options_done || strncmp(a, "--", 2) != 0) {
			c->args[c->nargs++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
		} else if (strcmp(a, "--help") == 0) {
			return -1;
		} else if (is_option(a, "--dir")) {
			*dir = option_value(argc, argv, &i, "--dir");
			if (*dir == NULL)
				return cli_error(c, CLI_USAGE,
				                 "--dir needs a directory");
		} else if ((opts & CLI_OPT_MESH_KEY) != 0 &&
		           is_option(a, "--mesh-key")) {
			c->mesh_key =
			        option_value(argc, argv, &i, "--mesh-key");
			if (c->mesh_key == NULL)
				return cli_error(c, CLI_USAGE,
				                 "--mesh-key needs a key");
		} else if ((opts & CLI_OPT_REPLICA) != 0 &&
		           strcmp(a, "--replica") == 0) {
			c->replica_flag = true;
		} else if ((opts & CLI_OPT_JSON) != 0 &&
		           strcmp(a, "--json") == 0) {
			c->json = true;
		} else if ((opts & CLI_OPT_NODE) != 0 &&
		           is_option(a, "--listen")) {
			rc = keep(c, c->listen, &c->nlisten, "--listen",
			          option_value(argc, argv, &i, "--listen"));
		} else if ((opts & CLI_OPT_NODE) != 0 &&
		           is_option(a, "--peer")) {
			rc = keep(c, c->peer, &c->npeer, "--peer",
			          option_value(argc, argv, &i, "--peer"));
		} else if ((opts & CLI_OPT_NODE) != 0 &&
		           is_option(a, "--allow")) {
			rc = keep(c, c->allow, &c->nallow, "--allow",
			          option_value(argc, argv, &i, "--allow"));
		} else {
			return cli_error(
			        c, CLI_USAGE,
			        "unknown option %s (see cairn %s --help)", a,
			        c->cmd->name);
		}
		if (rc != 0)
			return rc;
	}
	if (c->nargs < c->cmd->min_args || c->nargs > c->cmd->max_args)
		return cli_error(
		        c, CLI_USAGE, "%s arguments (usage: cairn %s %s)",
		        c->nargs < c->cmd->min_args ? "missing" : "too many",
		        c->cmd->name, c->cmd->synopsis);
	return 0;
}

int main(int argc, char **argv)
{
	cli c;
	memset(&c, 0, sizeof(c));
	c.out = stdout;
	c.err = stderr;
	const char *dir = NULL;
	bool help = false;
	int i = 1;

	/* Options before the command. */
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help = true;
		} else if (strcmp(a, "--version") == 0) {
			printf("cairn %s\n", cairn_version());
			return CLI_OK;
		} else if (is_option(a, "--dir")) {
			dir = option_value(argc, argv, &i, "--dir");
			if (dir == NULL)
				return cli_error(&c, CLI_USAGE,
				                 "--dir needs a directory");
		} else {
			fprintf(stderr,
			        "cairn: unknown option %s (see cairn --help)\n",
			        a);
			return CLI_USAGE;
		}
	}
	if (i < argc && strcmp(argv[i], "-h") == 0) {
		help = true;
		i++;
	}
	if (i >= argc) {
		if (!help)
			fputs("cairn: no command given\n\n", stderr);
		usage(help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		/* `cairn help [COMMAND]` */
		if (i + 1 >= argc) {
			usage(stdout);
			return CLI_OK;
		}
		const cli_command *cmd = cli_find_command(argv[i + 1]);
		if (cmd == NULL) {
			fprintf(stderr,
			        "cairn: help: unknown command %s (see "
			        "cairn --help)\n",
			        argv[i + 1]);
			return CLI_USAGE;
		}
		command_help(cmd);
		return CLI_OK;
	}
	c.cmd = cli_find_command(argv[i]);
	if (c.cmd == NULL) {
		fprintf(stderr,
		        "cairn: unknown command %s (see cairn --help)\n",
		        argv[i]);
		return CLI_USAGE;
	}
	if (help) {
		command_help(c.cmd);
		return CLI_OK;
	}
	i++;

	int rc = cli_parse_args(&c, argc - i, argv + i, &dir);
	if (rc == -1) {
		command_help(c.cmd);
		return CLI_OK;
	}
	if (rc != 0)
		return rc;
	rc = resolve_dir(&c, dir);
	if (rc != 0)
		return rc;
	/* A node running on the replica holds its store: the command runs
	 * there, or not at all. */
	if ((c.cmd->flags & (CLI_VIA_NODE | CLI_NODE_ONLY)) != 0) {
		int status = 0;
		rc = cli_control_call(&c, &status);
		if (rc == 0)
			return status;
		if (rc != 1)
			return rc;
	}
	return c.cmd->run(&c);
}
