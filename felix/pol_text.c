/*
 * pol_text: the `nft` status op, what felix programmed (its `have` table)
 * as nft text: the whole table, or one workload's chains and elements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "felix/felix.h"
#include "felix/pol_int.h"

/* ---------- `nft` op: what felix programmed, as text ---------- */

/* The chain `name` when it is a policy's (its typed role). */
static void render_policy(const struct nir_table *t, const char *name, FILE *out)
{
	const struct nir_chain *c = nir_chain_find(t, name);

	if (c && c->role == NIR_CHAIN_POLICY)
		nir_render_chain(c, out);
}

char *pol_nft_text(struct felix *f, const char *ep, char *err, size_t len)
{
	struct fpol *p = f->pol;
	const struct nir_table *t;
	char *text = NULL;
	size_t n = 0;
	FILE *out;

	if (!p || !(t = p->have ? p->have : NULL)) {
		snprintf(err, len, "felix has not programmed table inet petrel yet%s%s",
			 p && p->last_err[0] ? ": " : "", p ? p->last_err : "");
		return NULL;
	}
	out = open_memstream(&text, &n);
	if (!out) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	if (!ep) {
		nir_render_table(t, out);
	} else {
		char key[2 * RES_NAME_MAX], name[NIR_NAME_MAX];
		const struct pep *e;
		const struct nir_chain *c;

		snprintf(key, sizeof(key), "%s/%s", f->cfg->node, ep);
		e = pol_pep_find(p, key);
		if (!e || !e->ifname[0]) {
			fclose(out);
			free(text);
			snprintf(err, len, "no routed workload %s on node %s", ep, f->cfg->node);
			return NULL;
		}
		fprintf(out, "# workload %s, interface %s\n", ep, e->ifname);
		for (int dir = 0; dir < 2; dir++) {
			/* the chain its vmap element names: its own or a shared one */
			const struct nir_set *map = nir_set_find(t, dir ? COMPILE_MAP_TO_WL :
								COMPILE_MAP_FROM_WL);

			(dir ? compile_name_to : compile_name_from)(e->ifname, name);
			for (size_t j = 0; map && j < map->n; j++)
				if (!strcmp(map->e[j].ifname, e->ifname))
					snprintf(name, sizeof(name), "%s", map->e[j].chain);
			c = nir_chain_find(t, name);
			if (!c)
				continue;
			nir_render_chain(c, out);
			/* the policy chains it jumps to */
			for (size_t i = 0; i < c->n_rules; i++)
				for (size_t j = 0; j < c->rules[i].n_stmt; j++) {
					const struct nir_stmt *s = &c->rules[i].s[j];

					if ((s->type == NS_JUMP || s->type == NS_GOTO) && s->arg)
						render_policy(t, s->arg, out);
				}
		}
		fprintf(out, "# its elements\n");
		for (size_t i = 0; i < t->n_sets; i++) {
			const struct nir_set *s = t->sets[i];

			for (size_t j = 0; j < s->n; j++) {
				bool mine = !strcmp(s->e[j].ifname, e->ifname);

				for (size_t a = 0; !mine && a < e->n_nets; a++)
					mine = (s->type == NST_PORT_DNAT ||
						s->type == NST_ADDR_PORT_DNAT) &&
					       s->e[j].to_addr == e->nets[a].addr;
				if (mine) {
					struct nir_set one = *s;

					one.comment = NULL;
					one.n = 1;
					one.e = &s->e[j];
					nir_render_set(&one, out);
				}
			}
		}
	}
	fclose(out);
	return text;
}

