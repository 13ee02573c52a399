/*
 * parts: felix's table of parts (felix/part.h), in the order their hooks
 * run: desired state first, then the kernel's pass, then nftables, then
 * the status server (answers the waiters with this turn's results: routes
 * and nftables, which is what "programmed" means), then BIRD (last: even
 * starting its helper process never delays a route or a wait reply).
 * The datastore's health comes first: its retries and heartbeat.
 */
#include "felix/felix.h"

const struct fpart *const felix_parts[] = {
	&ds_part, &store_part, &kern_part, &pol_part, &statsrv_part, &bgp_part,
};

const size_t felix_n_parts = sizeof(felix_parts) / sizeof(felix_parts[0]);
