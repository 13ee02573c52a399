/*
 * nftir_render: a table as nft text (contract: nftir.h), nft's own input
 * syntax, one rule per line. Strings nft cannot quote (a '"' in a comment)
 * are shown with '\'' instead; comments are cut at NIR_COMMENT_SHOWN bytes,
 * nft's limit (the IR keeps them whole).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "policy/nftir.h"
#include "policy/nftir_int.h"

/* ------------------------------------------------------------ rendering */

static void put_ip(uint32_t a, FILE *out)
{
	fprintf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		a & 0xff);
}

/* A quoted string as nft reads it: no '"' inside, no control bytes. */
static void put_quoted(const char *s, size_t max, FILE *out)
{
	fputc('"', out);
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		fputc(ch == '"' ? '\'' : (ch < 0x20 || ch == 0x7f) ? '?' : ch, out);
	}
	fputc('"', out);
}

static void put_proto(uint32_t p, FILE *out)
{
	switch (p) {
	case IPPROTO_TCP:
		fputs("tcp", out);
		break;
	case IPPROTO_UDP:
		fputs("udp", out);
		break;
	case IPPROTO_SCTP:
		fputs("sctp", out);
		break;
	case IPPROTO_ICMP:
		fputs("icmp", out);
		break;
	default:
		fprintf(out, "%u", p);
	}
}

/* An address range as the fewest prefixes that cover it exactly
 * ("10.0.0.0/15, 10.2.0.0/24"), as a human wrote the nets. */
static void put_addr_range(const struct nir_range *r, FILE *out)
{
	uint64_t lo = r->lo, hi = r->hi;
	bool first = true;

	while (lo <= hi) {
		int plen = 32;

		/* widen while aligned and inside the range */
		while (plen > 0 && !(lo & ((1ull << (33 - plen)) - 1)) &&
		       lo + (1ull << (33 - plen)) - 1 <= hi)
			plen--;
		if (!first)
			fputs(", ", out);
		put_ip((uint32_t)lo, out);
		if (plen != 32)
			fprintf(out, "/%d", plen);
		lo += 1ull << (32 - plen);
		first = false;
	}
}

static void put_value(uint8_t key, uint32_t v, FILE *out)
{
	if (key == NK_SADDR || key == NK_DADDR)
		put_ip(v, out);
	else if (key == NK_L4PROTO)
		put_proto(v, out);
	else
		fprintf(out, "%u", v);
}

static void put_ranges(const struct nir_match *m, FILE *out)
{
	bool addr = m->key == NK_SADDR || m->key == NK_DADDR;

	if (m->n_ranges == 1 && m->ranges[0].lo == m->ranges[0].hi) {
		put_value(m->key, m->ranges[0].lo, out);
		return;
	}
	fputs("{ ", out);
	for (size_t i = 0; i < m->n_ranges; i++) {
		const struct nir_range *r = &m->ranges[i];

		if (i)
			fputs(", ", out);
		if (addr) {
			put_addr_range(r, out);
			continue;
		}
		if (r->hi == r->lo) {
			put_value(m->key, r->lo, out);
			continue;
		}
		/* numbers: "tcp-udp" would read as one word */
		fprintf(out, "%u-%u", r->lo, r->hi);
	}
	fputs(" }", out);
}

static const struct { uint32_t bit; const char *name; } ct_states[] = {
	{ NIR_CT_INVALID, "invalid" }, { NIR_CT_ESTABLISHED, "established" },
	{ NIR_CT_RELATED, "related" }, { NIR_CT_NEW, "new" },
	{ NIR_CT_UNTRACKED, "untracked" },
};

static const struct { uint32_t bit; const char *name; } ct_statuses[] = {
	{ 0x01, "expected" }, { 0x02, "seen-reply" }, { 0x04, "assured" },
	{ 0x08, "confirmed" }, { 0x10, "snat" }, { 0x20, "dnat" },
	{ 0x200, "dying" },
};

/* A bit mask as nft's flag names ("established,related"); bits without a
 * name as one hex number. */
#define put_flags(tab, v, out) put_flags_((tab), sizeof(tab) / sizeof((tab)[0]), (v), (out))
static void put_flags_(const void *tab, size_t n, uint32_t v, FILE *out)
{
	const struct { uint32_t bit; const char *name; } *t = tab;
	uint32_t rest = v;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!(v & t[i].bit))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", t[i].name);
		rest &= ~t[i].bit;
		first = false;
	}
	if (rest || first)
		fprintf(out, "%s0x%x", first ? "" : ",", rest);
}

static const char *key_text(const struct nir_rule *r, size_t i)
{
	static const char *const names[NK__COUNT] = {
		[NK_IIFNAME] = "iifname", [NK_OIFNAME] = "oifname",
		[NK_NFPROTO] = "meta nfproto", [NK_L4PROTO] = "meta l4proto",
		[NK_SADDR] = "ip saddr", [NK_DADDR] = "ip daddr",
		[NK_SPORT] = "th sport", [NK_DPORT] = "th dport",
		[NK_ICMP_TYPE] = "icmp type", [NK_ICMP_CODE] = "icmp code",
		[NK_CT_STATE] = "ct state", [NK_CT_STATUS] = "ct status",
		[NK_MARK] = "meta mark", [NK_FIB_DADDR_LOCAL] = "fib daddr type",
		[NK_IIF_SADDR] = "iifname . ip saddr",
		[NK_OIF_SADDR] = "oifname . ip saddr",
	};
	uint8_t k = r->m[i].key;

	if (k == NK_SPORT || k == NK_DPORT) {
		/* `tcp dport 80` reads better than `th dport 80` */
		switch (nir_rule_l4proto(r, i)) {
		case IPPROTO_TCP:
			return k == NK_SPORT ? "tcp sport" : "tcp dport";
		case IPPROTO_UDP:
			return k == NK_SPORT ? "udp sport" : "udp dport";
		case IPPROTO_SCTP:
			return k == NK_SPORT ? "sctp sport" : "sctp dport";
		}
	}
	return k < NK__COUNT ? names[k] : "?";
}

static void put_immediate(const struct nir_match *m, FILE *out)
{
	switch (m->key) {
	case NK_IIFNAME:
	case NK_OIFNAME:
		put_quoted(m->str, NIR_IFNAMSIZ, out);
		break;
	case NK_NFPROTO:
		if (m->val == NFPROTO_V4 || m->val == NFPROTO_V6)
			fputs(m->val == NFPROTO_V4 ? "ipv4" : "ipv6", out);
		else
			fprintf(out, "%u", m->val);
		break;
	case NK_SADDR:
	case NK_DADDR:
		put_ip(m->val, out);
		if (m->plen != 32)
			fprintf(out, "/%u", m->plen);
		break;
	case NK_CT_STATE:
		put_flags(ct_states, m->val, out);
		break;
	case NK_CT_STATUS:
		put_flags(ct_statuses, m->val, out);
		break;
	case NK_FIB_DADDR_LOCAL:
		fputs("local", out);
		break;
	default:
		put_value(m->key, m->val, out);
	}
}

static void render_match(const struct nir_rule *r, size_t i, FILE *out)
{
	const struct nir_match *m = &r->m[i];
	const char *ne = m->op == NO_NE ? "!= " : "";

	if (m->key == NK_MARK && !m->set && !m->n_ranges) {
		if (m->mask == 0xffffffffu)
			fprintf(out, "meta mark %s0x%08x", ne, m->val);
		else
			fprintf(out, "meta mark & 0x%08x %s 0x%08x", m->mask,
				m->op == NO_NE ? "!=" : "==", m->val);
		return;
	}
	fprintf(out, "%s %s", key_text(r, i), ne);
	if (m->set)
		fprintf(out, "@%s", m->set);
	else if (m->n_ranges)
		put_ranges(m, out);
	else
		put_immediate(m, out);
}

static void render_stmt(const struct nir_table *t, const struct nir_stmt *s,
			FILE *out)
{
	const struct nir_set *map;
	bool with_addr;

	switch (s->type) {
	case NS_ACCEPT:
		fputs("accept", out);
		break;
	case NS_DROP:
		fputs("drop", out);
		break;
	case NS_RETURN:
		fputs("return", out);
		break;
	case NS_JUMP:
	case NS_GOTO:
		fprintf(out, "%s %s", s->type == NS_JUMP ? "jump" : "goto", s->arg);
		break;
	case NS_VMAP:
		fprintf(out, "%s vmap @%s", s->key == NK_OIFNAME ? "oifname" : "iifname",
			s->arg);
		break;
	case NS_COUNTER:
		fputs("counter", out);
		break;
	case NS_MARK_SET:
		if (s->mask == 0xffffffffu)
			fprintf(out, "meta mark set 0x%08x", s->val);
		else if (s->val)
			fprintf(out, "meta mark set meta mark & 0x%08x | 0x%08x",
				~s->mask, s->val);
		else
			fprintf(out, "meta mark set meta mark & 0x%08x", ~s->mask);
		break;
	case NS_LOG:
		fputs("log prefix ", out);
		put_quoted(s->arg, NIR_LOG_PREFIX_MAX, out);
		break;
	case NS_MASQUERADE:
		fputs("masquerade", out);
		break;
	case NS_DNAT_MAP:
		/* the key follows the map's type; without the table, the
		 * statement's own key field says it */
		map = t ? nir_set_find(t, s->arg) : NULL;
		with_addr = map ? map->type == NST_ADDR_PORT_DNAT
				: s->key == NST_ADDR_PORT_DNAT;
		fprintf(out, "dnat ip to %smeta l4proto . th dport map @%s",
			with_addr ? "ip daddr . " : "", s->arg);
		break;
	default:
		fputs("# ?", out);
	}
}

static void render_rule(const struct nir_table *t, const struct nir_rule *r,
			FILE *out)
{
	bool sp = false;

	for (size_t i = 0; i < r->n_match; i++, sp = true) {
		if (sp)
			fputc(' ', out);
		render_match(r, i, out);
	}
	for (size_t i = 0; i < r->n_stmt; i++, sp = true) {
		if (sp)
			fputc(' ', out);
		render_stmt(t, &r->s[i], out);
	}
	if (r->comment) {
		fputs(sp ? " comment " : "comment ", out);
		put_quoted(r->comment, NIR_COMMENT_SHOWN, out);
	}
}

void nir_render_rule(const struct nir_rule *r, FILE *out)
{
	render_rule(NULL, r, out);
}

static const char *hook_name(uint8_t h)
{
	static const char *const names[] = {
		[NH_NONE] = "?", [NH_PREROUTING] = "prerouting",
		[NH_INPUT] = "input", [NH_FORWARD] = "forward",
		[NH_OUTPUT] = "output", [NH_POSTROUTING] = "postrouting",
	};

	return h <= NH_POSTROUTING ? names[h] : "?";
}

static void render_chain(const struct nir_table *t, const struct nir_chain *c,
			 FILE *out)
{
	fprintf(out, "\tchain %s {\n", c->name);
	if (c->hook != NH_NONE)
		fprintf(out, "\t\ttype %s hook %s priority %d; policy %s;\n",
			c->nat ? "nat" : "filter", hook_name(c->hook), c->prio,
			c->policy_drop ? "drop" : "accept");
	for (size_t i = 0; i < c->n_rules; i++) {
		fputs("\t\t", out);
		render_rule(t, &c->rules[i], out);
		fputc('\n', out);
	}
	fputs("\t}\n", out);
}

void nir_render_chain(const struct nir_chain *c, FILE *out)
{
	render_chain(NULL, c, out);
}

static const char *set_type_text(uint8_t type)
{
	static const char *const names[NST__COUNT] = {
		[NST_IPV4] = "ipv4_addr",
		[NST_IFNAME_IPV4] = "ifname . ipv4_addr",
		[NST_IFNAME_VMAP] = "ifname : verdict",
		[NST_PORT_DNAT] = "inet_proto . inet_service : ipv4_addr . inet_service",
		[NST_ADDR_PORT_DNAT] = "ipv4_addr . inet_proto . inet_service : "
				       "ipv4_addr . inet_service",
	};

	return type < NST__COUNT ? names[type] : "?";
}

static void render_elem(uint8_t type, const struct nir_elem *e, FILE *out)
{
	switch (type) {
	case NST_IPV4:
		put_ip(e->addr, out);
		break;
	case NST_IFNAME_IPV4:
		put_quoted(e->ifname, NIR_IFNAMSIZ, out);
		fputs(" . ", out);
		put_ip(e->addr, out);
		break;
	case NST_IFNAME_VMAP:
		put_quoted(e->ifname, NIR_IFNAMSIZ, out);
		fprintf(out, " : %s %s", e->vgoto ? "goto" : "jump", e->chain);
		break;
	case NST_ADDR_PORT_DNAT:
		put_ip(e->addr, out);
		fputs(" . ", out);
		/* fall through */
	case NST_PORT_DNAT:
		put_proto(e->proto, out);
		fprintf(out, " . %u : ", e->port);
		put_ip(e->to_addr, out);
		fprintf(out, " . %u", e->to_port);
		break;
	}
}

void nir_render_set(const struct nir_set *s, FILE *out)
{
	bool map = s->type == NST_IFNAME_VMAP || s->type == NST_PORT_DNAT ||
		   s->type == NST_ADDR_PORT_DNAT;

	fprintf(out, "\t%s %s {\n\t\ttype %s\n", map ? "map" : "set", s->name,
		set_type_text(s->type));
	if (s->comment) {
		fputs("\t\tcomment ", out);
		put_quoted(s->comment, NIR_COMMENT_SHOWN, out);
		fputc('\n', out);
	}
	if (s->n) {
		fputs("\t\telements = { ", out);
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				fputs(",\n\t\t\t     ", out);
			render_elem(s->type, &s->e[i], out);
		}
		fputs(" }\n", out);
	}
	fputs("\t}\n", out);
}

void nir_render_table(const struct nir_table *t, FILE *out)
{
	bool blank = false;

	fprintf(out, "table inet %s {\n", NIR_TABLE);
	for (size_t i = 0; i < t->n_sets; i++, blank = true) {
		if (blank)
			fputc('\n', out);
		nir_render_set(t->sets[i], out);
	}
	for (size_t i = 0; i < t->n_chains; i++, blank = true) {
		if (blank)
			fputc('\n', out);
		render_chain(t, t->chains[i], out);
	}
	fputs("}\n", out);
}
