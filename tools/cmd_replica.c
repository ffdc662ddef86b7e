/*
 * cmd_replica.c -- the commands about the replica as a whole: init, id,
 * mesh-key, repair, export and import.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

/*
 * `cairn init`: the identity lives in the store, so the store comes first,
 * created with the replica id derived from the new device id; then the
 * identity and the mesh key are saved into it. Each save is atomic and
 * durable; a crash between the steps leaves a store without an identity,
 * which a second init refuses with advice (delete the directory) rather
 * than guess.
 */
int cli_cmd_init(cli *c)
{
	cairn_mesh_key mesh;
	bool joining = c->mesh_key != NULL;
	if (joining && cairn_mesh_key_from_text(c->mesh_key, &mesh) != 0)
		return cli_error(c, CLI_USAGE,
		                 "--mesh-key: not a mesh key (52 base32 "
		                 "characters, as `cairn mesh-key` prints on a "
		                 "device of the mesh)");

	/* Is there a replica already? */
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cli_random_hash_key(cfg.replica.hash_key);
	cfg.replica.id = 0;
	cfg.create = false;
	int err = cli_store_open(c, &cfg);
	if (err == 0) {
		cairn_identity old;
		err = cairn_identity_load(c->store, &old);
		int rc;
		if (err == 0) {
			cairn_device_id id;
			char text[CAIRN_DEVICE_ID_TEXT];
			cairn_identity_device_id(&old, &id);
			cairn_device_id_to_text(&id, text);
			rc = cli_error(
			        c, CLI_DATA,
			        "%s already holds the replica of device %s",
			        c->dir, text);
		} else if (err == CAIRN_ENOTFOUND) {
			rc = cli_error(
			        c, CLI_DATA,
			        "%s holds a replica without a device "
			        "identity (an interrupted `cairn init`, or "
			        "a store made by another program); give "
			        "init a new directory",
			        c->dir);
		} else {
			rc = cli_fail(c, err, "reading the identity");
		}
		cairn_identity_wipe(&old);
		cairn_mesh_key_wipe(&mesh);
		return cli_close(c, rc);
	}
	if (err != CAIRN_ENOTFOUND) {
		cairn_mesh_key_wipe(&mesh);
		return cli_open_error(c, err);
	}

	cairn_identity me;
	cairn_device_id id;
	err = cairn_identity_generate(&me);
	if (err == 0 && !joining)
		err = cairn_mesh_key_generate(&mesh);
	if (err != 0) {
		cairn_identity_wipe(&me);
		cairn_mesh_key_wipe(&mesh);
		return cli_error(c, CLI_REPLICA,
		                 "no random source for the keys: %s",
		                 cairn_strerror(err));
	}
	cairn_identity_device_id(&me, &id);

	cfg.replica.id = cairn_device_replica_id(&id);
	cfg.create = true;
	err = cli_store_open(c, &cfg);
	if (err != 0) {
		cairn_identity_wipe(&me);
		cairn_mesh_key_wipe(&mesh);
		if (err == CAIRN_ENOTFOUND)
			return cli_error(c, CLI_REPLICA,
			                 "cannot create the replica in %s: %s "
			                 "(does its parent directory exist?)",
			                 c->dir,
			                 c->report.message[0] != '\0'
			                         ? c->report.message
			                         : cairn_strerror(err));
		return cli_open_error(c, err);
	}
	int rc = 0;
	err = cairn_identity_save(c->store, &me);
	if (err == 0)
		err = cairn_mesh_key_save(c->store, &mesh);
	cairn_identity_wipe(&me);
	cairn_mesh_key_wipe(&mesh);
	if (err != 0)
		rc = cli_error(c, CLI_REPLICA,
		               "saving the keys in %s: %s; the directory is "
		               "unusable: remove it and run init again",
		               c->dir, cairn_strerror(err));
	rc = cli_close(c, rc);
	if (rc != 0)
		return rc;
	char text[CAIRN_DEVICE_ID_TEXT];
	cairn_device_id_to_text(&id, text);
	fprintf(c->out, "%s\n", text);
	fprintf(c->err, "cairn: created the replica of device %s in %s, %s\n",
	        text, c->dir,
	        joining ? "in the mesh of the given key"
	                : "in a new mesh (`cairn mesh-key` prints its key)");
	return CLI_OK;
}

/* Load the identity of an open replica; prints the error. */
static int load_identity(cli *c, cairn_identity *out)
{
	int err = cairn_identity_load(c->store, out);
	if (err == CAIRN_ENOTFOUND)
		return cli_error(c, CLI_REPLICA,
		                 "the replica in %s has no device identity",
		                 c->dir);
	if (err == CAIRN_ECORRUPT)
		return cli_error(c, CLI_REPLICA,
		                 "the identity of the replica in %s is damaged",
		                 c->dir);
	return err == 0 ? 0 : cli_fail(c, err, "reading the identity");
}

int cli_cmd_id(cli *c)
{
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_identity me;
	rc = load_identity(c, &me);
	if (rc == 0) {
		cairn_device_id id;
		cairn_identity_device_id(&me, &id);
		if (c->replica_flag) {
			fprintf(c->out, "%016" PRIx64 "\n",
			        cairn_device_replica_id(&id));
		} else {
			char text[CAIRN_DEVICE_ID_TEXT];
			cairn_device_id_to_text(&id, text);
			fprintf(c->out, "%s\n", text);
		}
	}
	cairn_identity_wipe(&me);
	return cli_close(c, rc);
}

int cli_cmd_mesh_key(cli *c)
{
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_mesh_key key;
	int err = cairn_mesh_key_load(c->store, &key);
	if (err == 0) {
		char text[CAIRN_MESH_KEY_TEXT];
		cairn_mesh_key_to_text(&key, text);
		fprintf(c->out, "%s\n", text);
		memset(text, 0, sizeof(text));
	} else if (err == CAIRN_ENOTFOUND) {
		rc = cli_error(c, CLI_REPLICA,
		               "the replica in %s has no mesh key", c->dir);
	} else if (err == CAIRN_ECORRUPT) {
		rc = cli_error(c, CLI_REPLICA,
		               "the mesh key of the replica in %s is damaged",
		               c->dir);
	} else {
		rc = cli_fail(c, err, "reading the mesh key");
	}
	cairn_mesh_key_wipe(&key);
	return cli_close(c, rc);
}

int cli_cmd_repair(cli *c)
{
	cairn_store_report rep;
	memset(&rep, 0, sizeof(rep));
	int err = cairn_store_repair(c->dir, cairn_vfs_posix(), &rep);
	c->report = rep;
	if (err == CAIRN_ECORRUPT)
		return cli_error(
		        c, CLI_REPLICA,
		        "%s cannot be repaired%s%s (restore it from an "
		        "export, or from another device of the mesh)",
		        c->dir, rep.message[0] != '\0' ? ": " : "",
		        rep.message);
	if (err != 0)
		return cli_open_error(c, err);
	if (rep.message[0] != '\0')
		fprintf(c->out, "%s\n", rep.message);
	else
		fprintf(c->out, "the replica in %s needed no repair\n", c->dir);
	return CLI_OK;
}

int cli_cmd_export(cli *c)
{
	int rc = cli_open(c);
	if (rc != 0)
		return rc;
	cairn_buf out;
	cairn_buf_init(&out, NULL);
	int err = cairn_store_export(c->store, &out);
	if (err != 0)
		rc = cli_fail(c, err, "export");
	/* Release the replica before writing: a slow reader of stdout
	 * should not keep other commands waiting. */
	rc = cli_close(c, rc);
	if (rc == 0)
		rc = cli_write_out(c, &out);
	cairn_buf_free(&out);
	return rc;
}

/* Read all of f into *b; 0 or errno. */
static int read_all(FILE *f, cairn_buf *b)
{
	for (;;) {
		if (cairn_buf_reserve(b, 65536) != 0)
			return ENOMEM;
		size_t n = fread(b->data + b->len, 1, b->cap - b->len, f);
		b->len += n;
		if (n == 0)
			return ferror(f) ? EIO : 0;
	}
}

int cli_read_file(const char *path, cairn_buf *b)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (f == NULL)
		return errno;
	int os = read_all(f, b);
	if (!is_stdin)
		fclose(f);
	return os;
}

int cli_cmd_import(cli *c)
{
	const char *path = c->args[0];
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "standard input" : path;

	/* Read the input before taking the replica, so a slow pipe does not
	 * hold the lock. Inside a node, the client has read it. */
	cairn_buf in;
	cairn_buf_init(&in, NULL);
	int os = 0;
	if (c->has_input) {
		if (cairn_buf_append(&in, c->input, c->input_len) != 0)
			os = ENOMEM;
	} else {
		os = cli_read_file(path, &in);
	}
	if (os != 0) {
		cairn_buf_free(&in);
		return cli_error(c, CLI_DATA, "%s: %s", name, strerror(os));
	}

	int rc = cli_open(c);
	if (rc != 0) {
		cairn_buf_free(&in);
		return rc;
	}
	size_t written = 0;
	cairn_store_report rep;
	memset(&rep, 0, sizeof(rep));
	const char *json = in.len > 0 ? (const char *)in.data : "";
	int err = cairn_store_import(c->store, json, in.len, 0, &written, &rep);
	if (err == CAIRN_EDECODE)
		rc = cli_error(c, CLI_DATA,
		               "%s is not a cairn export: malformed at byte "
		               "%llu; nothing was written",
		               name, (unsigned long long)rep.offset);
	else if (err == CAIRN_EVERSION)
		rc = cli_error(c, CLI_DATA,
		               "%s: an export format version this cairn does "
		               "not read; nothing was written",
		               name);
	else if (err != 0 && rep.message[0] != '\0')
		rc = cli_error(c, cli_exit_code(err), "%s: %s", name,
		               rep.message);
	else if (err != 0)
		rc = cli_fail(c, err, name);
	else
		fprintf(c->out, "imported %zu writes\n", written);
	cairn_buf_free(&in);
	return cli_close(c, rc);
}
