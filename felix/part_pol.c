/*
 * part_pol: the policy part (felix/part.h) over pol.c's functions, a thin
 * adapter: pol.c still decodes the raw event itself (r->ev) until it reads
 * the decoded record (fres_res).
 */
#include "felix/felix.h"

static void polp_on_resource(struct felix *f, struct fres *r)
{
	pol_store_event(f, r->ev);
}

const struct fpart pol_part = {
	.name = "nft",
	.kinds = FRES_KIND(RES_WEP) | FRES_KIND(RES_NETPOLICY) |
		 FRES_KIND(RES_NETWORK) | FRES_KIND(RES_IPPOOL) |
		 FRES_KIND(RES_HOSTEP),
	.open = pol_open,
	.close = pol_close,
	.relist = pol_relist,
	.on_resource = polp_on_resource,
	.sync = pol_sync,
	.timeout_ms = pol_timeout_ms,
	.status_json = pol_status_json,
};
