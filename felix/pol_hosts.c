/*
 * pol_hosts: the hosts files of the local routed workloads in a named
 * namespace (common/hosts.h says what they list), from felix's endpoint
 * records (pol_int.h).
 *
 * A change to a member of a named network marks the network; a pass then
 * marks that network's local members, builds one sorted member list per
 * named network the files to write need (one walk over the records), and
 * renders each file from its networks' lists. A change costs O(N) records
 * read plus the files' own text, not every member's file rebuilt from
 * every member's record (O(N^2)).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hosts.h"
#include "common/log.h"
#include "felix/pol_int.h"

static bool named(const char *net)
{
	return strcmp(net, NETWORK_DEFAULT) != 0;
}

static bool net_listed(char (*v)[RES_NAME_MAX], size_t n, const char *net)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], net))
			return true;
	return false;
}

void pol_hosts_mark(struct fpol *p, const struct pep *e)
{
	for (size_t i = 0; i < e->n_networks; i++) {
		const char *net = e->networks[i];

		if (!named(net) || net_listed(p->hosts_nets, p->n_hosts_nets, net))
			continue;
		if (p->n_hosts_nets == p->cap_hosts_nets) {
			size_t c = p->cap_hosts_nets ? 2 * p->cap_hosts_nets : 8;
			char (*v)[RES_NAME_MAX] = realloc(p->hosts_nets, c * sizeof(*v));

			if (!v) {
				log_warn("hosts files: out of memory");
				return;
			}
			p->hosts_nets = v;
			p->cap_hosts_nets = c;
		}
		snprintf(p->hosts_nets[p->n_hosts_nets++], RES_NAME_MAX, "%s", net);
		p->hosts_dirty = true;
	}
}

/* One named network's members, for this pass. */
struct hnet {
	struct hnode h;			/* by hash_str(name) */
	const char *name;		/* borrowed from a record */
	struct hosts_member *v;
	size_t n, cap;
};

static struct hnet *hnet_find(const struct htab *t, const char *name)
{
	for (struct hnode *h = htab_first(t, hash_str(name)); h; h = htab_next(h)) {
		struct hnet *x = container_of(h, struct hnet, h);

		if (!strcmp(x->name, name))
			return x;
	}
	return NULL;
}

static void hnet_free(struct hnode *h, void *arg)
{
	struct hnet *x = container_of(h, struct hnet, h);

	(void)arg;
	free(x->v);
	free(x);
}

#define PEPS_FOREACH(p, e)						\
	for (size_t b_ = 0; b_ < (p)->peps.nb; b_++)			\
		for (struct hnode *h_ = (p)->peps.b[b_]; h_; h_ = h_->next) \
			if (((e) = (struct pep *)h_), true)

static bool has_file(const struct pep *e)
{
	return e->local && e->netns[0];
}

static void file_write(struct fpol *p, const struct pep *e, const struct htab *nets)
{
	struct hosts_list lists[WEP_MAX_NETWORKS];
	struct hosts_member self = { e->name, e->node, e->n_nets ? e->nets[0].addr : 0 };
	size_t n = 0;
	char *text = NULL;
	int r;

	for (size_t i = 0; i < e->n_networks && n < WEP_MAX_NETWORKS; i++) {
		const struct hnet *x = named(e->networks[i]) ?
				       hnet_find(nets, e->networks[i]) : NULL;

		if (x) {
			lists[n].n = x->n;
			lists[n].v = x->v;
			n++;
		}
	}
	p->hosts_stats.files++;
	r = hosts_render(&self, e->n_nets > 0, lists, n, &text);
	if (r == 0)
		r = hosts_write_at(p->hosts_root, e->netns, text);
	if (r < 0)
		log_warn("hosts file of %s (%s/%s/hosts): %s", e->name, p->hosts_root,
			 e->netns, strerror(-r));
	free(text);
}

void pol_hosts_sync(struct fpol *p)
{
	struct htab nets = { 0 };
	struct pep **todo = NULL, *e;
	size_t n_todo = 0;

	if (!p->hosts_dirty)
		return;
	p->hosts_dirty = false;
	p->hosts_stats.passes++;
	/* the members of the marked networks: their files change */
	if (p->n_hosts_nets)
		PEPS_FOREACH(p, e)
			for (size_t i = 0; has_file(e) && !e->hosts_dirty &&
					   i < e->n_networks; i++)
				if (net_listed(p->hosts_nets, p->n_hosts_nets, e->networks[i]))
					e->hosts_dirty = true;
	p->n_hosts_nets = 0;
	/* this pass's files, and the networks they need */
	todo = malloc(POL_HOSTS_PER_PASS * sizeof(*todo));
	if (!todo)
		goto oom;
	PEPS_FOREACH(p, e) {
		if (!e->hosts_dirty)
			continue;
		if (n_todo == POL_HOSTS_PER_PASS) {
			p->hosts_dirty = true;	/* the rest: next pass */
			continue;
		}
		todo[n_todo++] = e;
		for (size_t i = 0; i < e->n_networks; i++) {
			struct hnet *x;

			if (!named(e->networks[i]) || hnet_find(&nets, e->networks[i]))
				continue;
			if (!(x = calloc(1, sizeof(*x))))
				goto oom;
			x->name = e->networks[i];
			if (htab_add(&nets, &x->h, hash_str(x->name)) < 0) {
				free(x);
				goto oom;
			}
			p->hosts_stats.lists++;
		}
	}
	/* one walk: every member with an address into its networks' lists */
	if (nets.n)
		PEPS_FOREACH(p, e) {
			if (!pep_has_addr(e))
				continue;
			for (size_t i = 0; i < e->n_networks; i++) {
				struct hnet *x = hnet_find(&nets, e->networks[i]);

				if (!x)
					continue;
				if (x->n == x->cap) {
					size_t c = x->cap ? 2 * x->cap : 16;
					struct hosts_member *v = realloc(x->v, c * sizeof(*v));

					if (!v)
						goto oom;
					x->v = v;
					x->cap = c;
				}
				x->v[x->n++] = (struct hosts_member){ e->name, e->node,
								      e->nets[0].addr };
				p->hosts_stats.listed++;
			}
		}
	for (size_t b = 0; b < nets.nb; b++)
		for (struct hnode *h = nets.b[b]; h; h = h->next) {
			struct hnet *x = container_of(h, struct hnet, h);

			hosts_members_sort(x->v, x->n);
		}
	for (size_t i = 0; i < n_todo; i++) {
		todo[i]->hosts_dirty = false;
		file_write(p, todo[i], &nets);
	}
	goto out;
oom:
	log_warn("hosts files: out of memory (retrying)");
	p->hosts_dirty = true;
out:
	htab_walk(&nets, hnet_free, NULL);
	htab_clear(&nets);
	free(todo);
}
