/*
 * fuzz_netpolicy_closed: libFuzzer harness for model/netpolicy_closed.c,
 * which reads stored NetworkPolicy text that did not decode (so: anything).
 * For any input: no crash, no leak; with a name given it always succeeds;
 * what it returns is the deny-everything policy (a Deny rule in each of
 * its directions, at least one direction, ordered first), its selector
 * NULL or one that parses, and a valid policy (its encoding decodes back to
 * the same encoding). When the input decodes as a good NetworkPolicy, the
 * closed one selects as the good one (same selector) for at least its
 * directions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/resource.h"
#include "model/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct netpolicy *np)
{
	struct netpolicy back;
	struct errs e = ERRS_INIT;
	struct selector *s = NULL;
	json_t *j, *j2;
	char *a, *b;

	if (!np->ingress && !np->egress)
		abort();
	if (np->n_ingress != (np->ingress ? 1u : 0u) || np->n_egress != (np->egress ? 1u : 0u))
		abort();
	if ((np->ingress && np->in_rules[0].action != NP_DENY) ||
	    (np->egress && np->out_rules[0].action != NP_DENY) || !np->has_order)
		abort();
	if (np->selector) {
		if (selector_parse(np->selector, &s, NULL) != 0)
			abort();
		selector_free(s);
	}
	j = netpolicy_to_json(np);
	if (!j)
		return;		/* out of memory */
	if (netpolicy_from_json(j, NULL, NULL, &back, &e) != 0) {
		fprintf(stderr, "closed policy does not decode: %s\n", e.n ? e.msg[0] : "?");
		abort();
	}
	j2 = netpolicy_to_json(&back);
	a = json_dumps(j, JSON_SORT_KEYS);
	b = j2 ? json_dumps(j2, JSON_SORT_KEYS) : NULL;
	if (a && b && strcmp(a, b))
		abort();
	free(a);
	free(b);
	json_decref(j);
	json_decref(j2);
	netpolicy_clear(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netpolicy np, np2;
	struct resource good;
	unsigned flags;
	char *text;
	int rc;

	if (size > 65536)
		return 0;
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	rc = netpolicy_closed_from_text(text, "fuzz", &np, &flags);
	if (rc != 0 && rc != -ENOMEM)
		abort();	/* a valid name given: never -EINVAL */
	if (rc == 0) {
		if (strcmp(np.name, "fuzz"))
			abort();
		check(&np);
		if (res_from_text(RES_NETPOLICY, text, 1, &good, NULL) == 0) {
			const char *gs = good.u.netpolicy.selector;

			if ((gs && gs[0] ? !np.selector || strcmp(gs, np.selector) :
			     np.selector != NULL) ||
			    (good.u.netpolicy.ingress && !np.ingress) ||
			    (good.u.netpolicy.egress && !np.egress) ||
			    (flags & NP_CLOSED_ALL))
				abort();
			res_clear(&good);
		}
		netpolicy_clear(&np);
	}
	/* the document's own name: valid or -EINVAL */
	rc = netpolicy_closed_from_text(text, NULL, &np2, NULL);
	if (rc == 0) {
		if (!res_name_valid(np2.name))
			abort();
		check(&np2);
		netpolicy_clear(&np2);
	} else if (rc != -EINVAL && rc != -ENOMEM) {
		abort();
	}
	free(text);
	return 0;
}
