/*
 * sync_fixture.h -- the fixed replica of the sync engine's fuzz target
 * (fuzz_sync.c) and of its seed generator (gen_corpus.c): a store on the
 * in-memory file system with a fixed device id, clock and content, and a
 * sync engine attached to one fixed peer. A seed recorded against it once
 * keeps meaning the same thing to the target.
 *
 * Input of the target: u8 content variant, then messages, each a u16
 * little-endian length and that many bytes, handed to the engine in order
 * as if received from the peer.
 */
#ifndef CAIRN_FUZZ_SYNC_FIXTURE_H
#define CAIRN_FUZZ_SYNC_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cairn/net.h"
#include "cairn/store.h"
#include "fault_vfs.h"
#include "sync_int.h"

#define SFX_T0 UINT64_C(1700000000000)

typedef struct sfx {
	fault_vfs *fv;
	cairn_store *st;
	cairn__sync *sy;
	cairn_device_id self, peer;
	cairn__peer *p;
} sfx;

/* Content variants: 0 empty; 1 twelve documents; 2 forty documents,
 * some sets, compacted with no log kept (a peer must reconcile). */
static inline int sfx_open(sfx *f, uint8_t variant, uint8_t self_tag,
                           uint8_t peer_tag)
{
	memset(f, 0, sizeof *f);
	memset(f->self.bytes, self_tag, sizeof f->self.bytes);
	memset(f->peer.bytes, peer_tag, sizeof f->peer.bytes);
	f->fv = fault_vfs_new();
	int rc = fault_vfs_mkdir_p(f->fv, "/s");
	cairn_store_config cfg;
	cairn_store_config_init(&cfg);
	cfg.replica.id = cairn_device_replica_id(&f->self);
	cfg.sync = CAIRN_SYNC_NONE;
	cfg.history_depth = 0;
	cfg.retain_log_bytes = 0;
	cfg.vfs = fault_vfs_vfs(f->fv);
	if (!rc)
		rc = cairn_store_open("/s", &cfg, &f->st, NULL);
	int docs = variant % 3 == 1 ? 12 : variant % 3 == 2 ? 40 : 0;
	char id[16];
	for (int i = 0; i < docs && !rc; i++) {
		snprintf(id, sizeof id, "d/%d", i);
		cairn_value v = {.type = CAIRN_INT, .as.i = i};
		rc = cairn_store_set(f->st, id, "x", &v, SFX_T0, NULL, NULL);
		if (!rc && i % 4 == 0)
			rc = cairn_store_add(f->st, id, "tags", &v, NULL, NULL);
	}
	if (!rc && variant % 3 == 2)
		rc = cairn_store_compact(f->st);
	cairn__sync_config sc;
	cairn__sync_config_init(&sc);
	sc.store = f->st;
	sc.self = f->self;
	sc.frame_bytes = 4096; /* small: fragments happen */
	sc.batch_bytes = 1024;
	sc.recon_leaf = 2;
	if (!rc)
		rc = cairn__sync_new(&sc, &f->sy);
	if (!rc)
		rc = cairn__sync_attach(f->sy, &f->peer, SFX_T0, &f->p);
	return rc;
}

static inline void sfx_close(sfx *f)
{
	if (f->p)
		cairn__sync_detach(f->sy, f->p);
	cairn__sync_free(f->sy);
	if (f->st)
		(void)cairn_store_close(f->st);
	fault_vfs_free(f->fv);
	memset(f, 0, sizeof *f);
}

#endif /* CAIRN_FUZZ_SYNC_FIXTURE_H */
