/*
 * cairn.c -- the cairn command: a device's replica from the shell.
 *
 *   cairn [--dir DIR] COMMAND [ARGS...]
 *
 * This file reads the command line and prints the help; cmd_replica.c and
 * cmd_data.c hold the commands, cli_util.c what they share. docs/CLI.md is
 * the manual, and the help texts below say the same in short.
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
         0, 0, CLI_OPT_MESH_KEY, cli_cmd_init},
        {"id", "[--replica]", "print this device's id",
         "Print the device id: 52 characters of base32, the hash of the\n"
         "device's public key. Peers know the device by this id.\n"
         "With --replica, print the replica id instead (16 hex digits): the\n"
         "first 64 bits of the device id, which `cairn history` shows as the\n"
         "author of each value.\n",
         0, 0, CLI_OPT_REPLICA, cli_cmd_id},
        {"mesh-key", "", "print the mesh key (a secret)",
         "Print the mesh key: 52 characters of base32. Give it to a device\n"
         "you want in this mesh, which runs `cairn init --mesh-key KEY`.\n"
         "Whoever has it can join the mesh: keep it secret.\n",
         0, 0, 0, cli_cmd_mesh_key},
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
         "The write is durable (fsync) when the command returns.\n",
         3, 3, 0, cli_cmd_put},
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
         2, 3, 0, cli_cmd_declare},
        {"get", "DOC FIELD", "print a register field as JSON",
         "Print the value of register FIELD of document DOC as JSON. When\n"
         "the register holds several live values (written concurrently on\n"
         "devices that had not seen each other's), print a JSON array of\n"
         "them, the one the register's policy selects first. A set field is\n"
         "an error: use `cairn members`.\n",
         2, 2, 0, cli_cmd_get},
        {"del", "DOC FIELD", "delete a field",
         "Delete FIELD of document DOC, register or set: every value or\n"
         "member this device has seen is removed.\n",
         2, 2, 0, cli_cmd_del},
        {"add", "DOC FIELD ELEM", "add an element to a set field",
         "Add ELEM to set FIELD of document DOC, creating the set. ELEM is\n"
         "read like the VALUE of `cairn put`. A concurrent remove that did\n"
         "not see this add does not undo it (add wins).\n",
         3, 3, 0, cli_cmd_add},
        {"rm", "DOC FIELD ELEM", "remove an element from a set field",
         "Remove ELEM (read like the VALUE of `cairn put`) from set FIELD of\n"
         "document DOC. An element that is not a member is an error.\n",
         3, 3, 0, cli_cmd_rm},
        {"members", "DOC FIELD", "print a set field as a JSON array",
         "Print the members of set FIELD of document DOC as a JSON array in\n"
         "cairn's value order (null, booleans, integers, floats, strings,\n"
         "binaries; each group sorted). A field that does not exist is an\n"
         "empty set: [].\n",
         2, 2, 0, cli_cmd_members},
        {"show", "DOC [--json]", "print a document as one JSON object",
         "Print document DOC as one JSON object, a field per line, sorted by\n"
         "name: a register as its value, a set as an array of its members,\n"
         "and a register with several live values as {\"values\": [...]}.\n"
         "The output is JSON with or without --json.\n",
         1, 1, CLI_OPT_JSON, cli_cmd_show},
        {"ls", "[PREFIX]", "list document ids",
         "Print the ids of the documents with live fields, one per line,\n"
         "sorted bytewise; with PREFIX, only the ids that start with it.\n",
         0, 1, 0, cli_cmd_ls},
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
         2, 2, 0, cli_cmd_history},
        {"export", "", "print the whole replica as JSON",
         "Print every document of the replica as one JSON document (the\n"
         "format of docs/JSON.md): documents, fields, values and sorted set\n"
         "members. It holds no key and nothing specific to this device:\n"
         "`cairn import` reads it back on any replica.\n",
         0, 0, 0, cli_cmd_export},
        {"import", "FILE", "write the values of an export",
         "Read an export (see `cairn export`) from FILE, or from standard\n"
         "input when FILE is \"-\", and write each of its values as a local\n"
         "write of this device: registers are set and set members added.\n"
         "All or nothing: malformed input writes nothing. Prints the number\n"
         "of writes made.\n",
         1, 1, 0, cli_cmd_import},
        {"repair", "", "keep the good prefix of a damaged replica",
         "When a command reports that the replica is corrupt, keep the\n"
         "records before the first bad one and drop the rest (they are\n"
         "lost; `cairn export` a copy from another device to restore them).\n"
         "Prints what was kept and dropped. Nothing happens to a healthy\n"
         "replica.\n",
         0, 0, 0, cli_cmd_repair},
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
	        "initialised, in use by another process, corrupt, I/O error).\n"
	        "See docs/CLI.md.\n");
}

static void command_help(const cli_command *cmd)
{
	printf("usage: cairn [--dir DIR] %s%s%s\n\n%s", cmd->name,
	       cmd->synopsis[0] != '\0' ? " " : "", cmd->synopsis, cmd->help);
	printf("\nOptions: --dir DIR (the replica directory; default "
	       "$CAIRN_DIR, else\n$HOME/.cairn), --help.\n");
}

static const cli_command *find_command(const char *name)
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

int main(int argc, char **argv)
{
	cli c;
	memset(&c, 0, sizeof(c));
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
		const cli_command *cmd = find_command(argv[i + 1]);
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
	c.cmd = find_command(argv[i]);
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

	/* The command's arguments, with options anywhere before "--".
	 * Positional arguments are gathered at the front of argv. */
	c.args = argv + i;
	bool options_done = false;
	for (; i < argc; i++) {
		char *a = argv[i];
		if (options_done || strncmp(a, "--", 2) != 0) {
			c.args[c.nargs++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
		} else if (strcmp(a, "--help") == 0) {
			command_help(c.cmd);
			return CLI_OK;
		} else if (is_option(a, "--dir")) {
			dir = option_value(argc, argv, &i, "--dir");
			if (dir == NULL)
				return cli_error(&c, CLI_USAGE,
				                 "--dir needs a directory");
		} else if ((c.cmd->options & CLI_OPT_MESH_KEY) != 0 &&
		           is_option(a, "--mesh-key")) {
			c.mesh_key = option_value(argc, argv, &i, "--mesh-key");
			if (c.mesh_key == NULL)
				return cli_error(&c, CLI_USAGE,
				                 "--mesh-key needs a key");
		} else if ((c.cmd->options & CLI_OPT_REPLICA) != 0 &&
		           strcmp(a, "--replica") == 0) {
			c.replica_flag = true;
		} else if ((c.cmd->options & CLI_OPT_JSON) != 0 &&
		           strcmp(a, "--json") == 0) {
			/* The output is JSON anyway. */
		} else {
			return cli_error(
			        &c, CLI_USAGE,
			        "unknown option %s (see cairn %s --help)", a,
			        c.cmd->name);
		}
	}
	if (c.nargs < c.cmd->min_args || c.nargs > c.cmd->max_args)
		return cli_error(
		        &c, CLI_USAGE, "%s arguments (usage: cairn %s %s)",
		        c.nargs < c.cmd->min_args ? "missing" : "too many",
		        c.cmd->name, c.cmd->synopsis);
	int rc = resolve_dir(&c, dir);
	if (rc != 0)
		return rc;
	return c.cmd->run(&c);
}
