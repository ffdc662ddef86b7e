/*
 * cairn.h -- the umbrella header: includes every public cairn module.
 *
 * THREAD SAFETY: see each module's header.
 */
#ifndef CAIRN_H
#define CAIRN_H

#include "cairn/common.h"
#include "cairn/crdt.h"
#include "cairn/json.h"
#include "cairn/store.h"
#include "cairn/loop.h"
#include "cairn/net.h"

#endif /* CAIRN_H */
