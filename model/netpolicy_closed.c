/*
 * netpolicy_closed: the policy that stands in for a stored NetworkPolicy
 * that does not decode (see netpolicy.h and docs/policy.md, "Policies fail
 * closed"). Best effort on purpose: the document is one we could not read
 * (a newer petrel's field, a hand edit), so it reads only the few members
 * that say whom the policy protected, and ignores everything else.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/netpolicy.h"
#include "model/selector.h"

#define NP_CLOSED_ORDER (-9007199254740992.0)	/* -2^53: before every other */

/* types: the directions it names, when it is a non-empty list of only
 * "Ingress" and "Egress"; anything else (absent, not a list, a type we do
 * not know) is unknown: both. */
static void closed_types(const json_t *types, bool *in, bool *out)
{
	size_t n = json_is_array(types) ? json_array_size(types) : 0;
	bool i = false, o = false;

	for (size_t k = 0; k < n; k++) {
		const char *s = json_string_value(json_array_get(types, k));

		if (s && !strcmp(s, "Ingress"))
			i = true;
		else if (s && !strcmp(s, "Egress"))
			o = true;
		else
			goto unknown;
	}
	if (i || o) {
		*in = i;
		*out = o;
		return;
	}
unknown:
	*in = *out = true;
}

static struct np_rule *deny_rule(void)
{
	struct np_rule *r = calloc(1, sizeof(*r));

	if (r) {
		r->action = NP_DENY;
		r->icmp_type = r->icmp_code = -1;
	}
	return r;
}

int netpolicy_closed_from_text(const char *text, const char *name,
			       struct netpolicy *out, unsigned *flags)
{
	struct netpolicy p = { 0 };
	const json_t *meta = NULL, *spec = NULL, *sel = NULL;
	const char *s;
	json_t *j = NULL;
	unsigned fl = 0;
	int r = -ENOMEM;

	/* duplicates allowed here: jansson keeps the last, and any reading
	 * serves, the policy is closed either way */
	if (text)
		j = json_loads(text, 0, NULL);
	if (!json_is_object(j)) {
		fl |= NP_CLOSED_NOT_JSON | NP_CLOSED_ALL;
	} else {
		meta = json_object_get(j, "metadata");
		spec = json_object_get(j, "spec");
		if (!json_is_object(spec)) {
			spec = NULL;	/* what it selects is unknown */
			fl |= NP_CLOSED_ALL;
		}
	}
	if (!name) {
		name = json_string_value(json_object_get(meta, "name"));
		if (!name || !res_name_valid(name)) {
			r = -EINVAL;
			goto out;
		}
	} else if (!res_name_valid(name)) {
		r = -EINVAL;
		goto out;
	}
	strcpy(p.name, name);	/* res_name_valid: it fits */

	sel = json_object_get(spec, "selector");
	s = json_string_value(sel);
	if (s && s[0]) {
		struct selector *tree = NULL;

		if (strlen(s) <= SELECTOR_MAX && selector_parse(s, &tree, NULL) == 0) {
			if (!(p.selector = strdup(s))) {
				selector_free(tree);
				goto out;
			}
		} else {
			fl |= NP_CLOSED_ALL;	/* a selector we cannot read: all() */
		}
		selector_free(tree);
	} else if (sel && !s) {
		fl |= NP_CLOSED_ALL;		/* not a string */
	} else if (spec && !sel) {
		fl |= NP_CLOSED_NO_SELECTOR;	/* absent: all(), as a good one */
	}
	closed_types(json_object_get(spec, "types"), &p.ingress, &p.egress);
	p.has_order = true;
	p.order = NP_CLOSED_ORDER;
	if (p.ingress) {
		if (!(p.in_rules = deny_rule()))
			goto out;
		p.n_ingress = 1;
	}
	if (p.egress) {
		if (!(p.out_rules = deny_rule()))
			goto out;
		p.n_egress = 1;
	}
	*out = p;
	memset(&p, 0, sizeof(p));
	if (flags)
		*flags = fl;
	r = 0;
out:
	netpolicy_clear(&p);
	json_decref(j);
	return r;
}
