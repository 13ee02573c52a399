/*
 * nftir: the nftables ruleset petrel wants, as plain data: a table of named
 * chains (rules = matches + statements) and named sets/maps with elements.
 *
 * policy/compile*.c build it from the resources; nftir_render.c prints it as
 * nft text (`nft list table inet petrel` style; golden files and `petrelctl
 * nft`); felix/nft*.c turn it into libnftnl objects in netlink batches.
 * Nothing here touches the kernel.
 *
 * Invariants: names are unique per table (chains and sets apart); every
 * chain or set a rule names exists in the table; set elements are kept
 * sorted and unique by key (nir_set_sort). Addresses are in host byte order.
 *
 * Ownership: the table owns everything hanging from it; every string passed
 * in is copied. nir_table_free(NULL) is a no-op.
 */
#ifndef PETREL_NFTIR_H
#define PETREL_NFTIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NIR_TABLE "petrel"	/* family inet */
#define NIR_NAME_MAX 64		/* chain and set names, NUL included */
#define NIR_IFNAMSIZ 16

/* What a match looks at. */
enum nir_key {
	NK_IIFNAME,	/* meta iifname: str; a trailing '*' matches a prefix */
	NK_OIFNAME,	/* meta oifname: the same */
	NK_NFPROTO,	/* meta nfproto: val = NFPROTO_IPV4 | NFPROTO_IPV6 */
	NK_L4PROTO,	/* meta l4proto: val = IPPROTO_* */
	NK_SADDR,	/* ip saddr: val/plen, ranges, or a set (NST_IPV4) */
	NK_DADDR,	/* ip daddr */
	NK_SPORT,	/* th sport: val, ranges, or a set; only after an
			 * NK_L4PROTO EQ match of tcp, udp or sctp in the rule */
	NK_DPORT,	/* th dport */
	NK_ICMP_TYPE,	/* icmp type: val; after NK_L4PROTO EQ icmp */
	NK_ICMP_CODE,	/* icmp code: val */
	NK_CT_STATE,	/* ct state: mask of NIR_CT_*; EQ = any bit set, NE = none */
	NK_CT_STATUS,	/* ct status: mask of IPS_* bits; EQ = any set, NE = none */
	NK_MARK,	/* meta mark: (mark & mask) EQ/NE val */
	NK_FIB_DADDR_LOCAL, /* fib daddr type local: EQ / NE (no val) */
	NK_IIF_SADDR,	/* iifname . ip saddr: set only (NST_IFNAME_IPV4) */
	NK_OIF_SADDR,	/* oifname . ip saddr: set only (NST_IFNAME_IPV4) */
	NK__COUNT
};

enum nir_op { NO_EQ, NO_NE };

#define NIR_CT_INVALID		0x01	/* the kernel's NF_CT_STATE_INVALID_BIT */
#define NIR_CT_ESTABLISHED	0x02	/* NF_CT_STATE_BIT(IP_CT_ESTABLISHED) */
#define NIR_CT_RELATED		0x04
#define NIR_CT_NEW		0x08
#define NIR_CT_UNTRACKED	0x40

/* An inclusive range of a 32-bit value (address or port). */
struct nir_range {
	uint32_t lo, hi;
};

/*
 * One match. Exactly one form of operand:
 *  - set != NULL: lookup in the named set (NO_NE: not in it);
 *  - n_ranges > 0: an anonymous interval set (ranges sorted, merged);
 *    a single range with lo == hi is an immediate compare;
 *  - else the immediate: str (if-names), val (+ plen for addresses, mask
 *    for NK_MARK), or nothing (NK_FIB_DADDR_LOCAL).
 */
struct nir_match {
	uint8_t key;		/* enum nir_key */
	uint8_t op;		/* enum nir_op */
	uint8_t plen;		/* NK_SADDR/NK_DADDR immediate: 0..32 */
	char str[NIR_IFNAMSIZ];
	uint32_t val, mask;
	char *set;		/* owned */
	size_t n_ranges;
	struct nir_range *ranges;	/* owned */
};

enum nir_stmt_type {
	/* verdicts: at most one per rule, always last */
	NS_ACCEPT, NS_DROP, NS_RETURN,
	NS_JUMP,		/* arg: chain */
	NS_GOTO,		/* arg: chain */
	NS_VMAP,		/* key (NK_IIFNAME | NK_OIFNAME) vmap @arg */
	/* others */
	NS_COUNTER,
	NS_MARK_SET,		/* meta mark set (mark & ~mask) | val */
	NS_LOG,			/* log prefix arg (<= 127 bytes) */
	NS_MASQUERADE,
	NS_DNAT_MAP,		/* dnat ip to KEY map @arg: key by the map's type:
				 * NST_PORT_DNAT: meta l4proto . th dport;
				 * NST_ADDR_PORT_DNAT: ip daddr . meta l4proto . th dport */
	NS__COUNT
};

struct nir_stmt {
	uint8_t type;		/* enum nir_stmt_type */
	uint8_t key;		/* NS_VMAP */
	uint32_t val, mask;	/* NS_MARK_SET */
	char *arg;		/* owned */
};

#define NIR_RULE_MATCH_MAX 16
#define NIR_RULE_STMT_MAX 4

struct nir_rule {
	size_t n_match, n_stmt;
	size_t cap_match;
	struct nir_match *m;	/* owned; n_match used, at most NIR_RULE_MATCH_MAX
				 * (an array sized to need: felix keeps tens of
				 * thousands of rules) */
	struct nir_stmt s[NIR_RULE_STMT_MAX];
	char *comment;		/* owned, may be NULL; shown by the renderer */
};

enum nir_hook { NH_NONE, NH_PREROUTING, NH_INPUT, NH_FORWARD, NH_OUTPUT,
		NH_POSTROUTING };

/* What a chain is for, typed (never told from its name): set by its
 * builder, kept by copies, not rendered. */
enum nir_chain_role {
	NIR_CHAIN_FIXED,	/* the skeleton's */
	NIR_CHAIN_POLICY,	/* a policy's rules (pi-/pe-NAME) */
	NIR_CHAIN_ENDPOINT,	/* shared by the workloads of one kind */
	NIR_CHAIN_HOST,		/* a host endpoint's (compile_heps) */
};

struct nir_chain {
	char name[NIR_NAME_MAX];
	uint8_t hook;		/* NH_NONE: a regular chain */
	bool nat;		/* base chain of type nat (else filter) */
	bool policy_drop;	/* base chain policy (else accept) */
	int prio;		/* base chain priority */
	uint8_t role;		/* enum nir_chain_role */
	size_t n_rules, cap;
	struct nir_rule *rules;
};

enum nir_set_type {
	NST_IPV4,		/* ipv4_addr */
	NST_IFNAME_IPV4,	/* ifname . ipv4_addr */
	NST_IFNAME_VMAP,	/* ifname : verdict (jump or goto a chain) */
	NST_PORT_DNAT,		/* inet_proto . inet_service : ipv4_addr . inet_service */
	NST_ADDR_PORT_DNAT,	/* ipv4_addr . inet_proto . inet_service :
				 * ipv4_addr . inet_service */
	NST__COUNT
};

/* One element; which fields count depends on the set's type. */
struct nir_elem {
	char ifname[NIR_IFNAMSIZ];	/* NST_IFNAME_* */
	uint32_t addr;			/* key address */
	uint8_t proto;			/* key l4 protocol */
	uint16_t port;			/* key port */
	uint32_t to_addr;		/* DNAT target */
	uint16_t to_port;
	bool vgoto;			/* NST_IFNAME_VMAP: goto (else jump) */
	char chain[NIR_NAME_MAX];	/* NST_IFNAME_VMAP: target chain */
};

/* What an address set holds the addresses of: the workloads a selector
 * selects, or the members of a network. Typed, so that nobody tells a
 * set's kind from its name or re-parses a selector from its comment.
 * Shared by a set and its copies (nir_set_dup): counted references. */
enum nir_owner_kind { NIR_OWNER_SELECTOR = 1, NIR_OWNER_NETWORK };

struct selector;

struct nir_owner {
	unsigned refs;
	uint8_t kind;			/* enum nir_owner_kind */
	struct selector *sel;		/* NIR_OWNER_SELECTOR: owned, parsed */
	char network[];			/* NIR_OWNER_NETWORK: its name */
};

/* A new owner, one reference (NULL on ENOMEM). nir_owner_selector takes
 * sel (freed also when it fails). */
struct nir_owner *nir_owner_selector(struct selector *sel);
struct nir_owner *nir_owner_network(const char *network);
struct nir_owner *nir_owner_ref(struct nir_owner *o);
void nir_owner_unref(struct nir_owner *o);	/* NULL: no-op */

struct nir_set {
	char name[NIR_NAME_MAX];
	uint8_t type;		/* enum nir_set_type */
	char *comment;		/* owned, may be NULL (e.g. the selector, shown) */
	struct nir_owner *owner;	/* one reference; NULL: a fixed set */
	size_t n, cap;
	struct nir_elem *e;
	bool bulk;		/* puts append, unsorted, until nir_set_settle()
				 * (a start with 10,000 workloads); no lookup or
				 * delete meanwhile */
};

struct nir_table {
	size_t n_chains, cap_chains;
	struct nir_chain **chains;	/* base chains first, in creation order;
					 * then the others sorted by name */
	size_t n_sets, cap_sets;
	struct nir_set **sets;		/* sorted by name */
};

struct nir_table *nir_table_new(void);
void nir_table_free(struct nir_table *t);

/* Lookups by name; NULL when absent. */
struct nir_chain *nir_chain_find(const struct nir_table *t, const char *name);
struct nir_set *nir_set_find(const struct nir_table *t, const char *name);

/* Adds an empty chain (NULL: the name exists, is too long, or ENOMEM). */
struct nir_chain *nir_chain_add(struct nir_table *t, const char *name);
struct nir_chain *nir_base_chain_add(struct nir_table *t, const char *name,
				     enum nir_hook hook, bool nat, int prio,
				     bool policy_drop);
/* Removes and frees a chain or set (no-op when absent). */
void nir_chain_del(struct nir_table *t, const char *name);
void nir_set_del(struct nir_table *t, const char *name);
/* Removes every rule of c. */
void nir_chain_flush(struct nir_chain *c);

/* Appends an empty rule to c; NULL on ENOMEM. Fill it with the helpers
 * below; each returns 0 or -E2BIG (too many matches/statements), -EINVAL
 * (a bad argument: name too long, verdict not last) or -ENOMEM. */
struct nir_rule *nir_rule_add(struct nir_chain *c);
int nir_match_ifname(struct nir_rule *r, enum nir_key k, enum nir_op op,
		     const char *name);
int nir_match_val(struct nir_rule *r, enum nir_key k, enum nir_op op,
		  uint32_t val);
int nir_match_net(struct nir_rule *r, enum nir_key k, enum nir_op op,
		  uint32_t addr, uint8_t plen);
int nir_match_mark(struct nir_rule *r, enum nir_op op, uint32_t mask,
		   uint32_t val);
int nir_match_set(struct nir_rule *r, enum nir_key k, enum nir_op op,
		  const char *set);
/* Copies the ranges, sorts and merges them. */
int nir_match_ranges(struct nir_rule *r, enum nir_key k, enum nir_op op,
		     const struct nir_range *v, size_t n);
int nir_stmt_add(struct nir_rule *r, enum nir_stmt_type type,
		 const char *arg);
int nir_stmt_vmap(struct nir_rule *r, enum nir_key k, const char *map);
int nir_stmt_mark(struct nir_rule *r, uint32_t mask, uint32_t val);
int nir_rule_comment(struct nir_rule *r, const char *text);

/* Adds an empty set (NULL: exists, name too long, or ENOMEM). */
struct nir_set *nir_set_add(struct nir_table *t, const char *name,
			    enum nir_set_type type);
/* Adds e (copied), keeping the elements sorted; an element with the same
 * key is replaced. 0 or -ENOMEM. */
int nir_set_elem_put(struct nir_set *s, const struct nir_elem *e);
/* Ends bulk mode: sorts, and keeps the last put of each key. 0 or -ENOMEM. */
int nir_set_settle(struct nir_set *s);
/* Removes the element with e's key; 0, or -ENOENT. */
int nir_set_elem_del(struct nir_set *s, const struct nir_elem *e);
/* Orders two elements by the key fields of type (memcmp-like). */
int nir_elem_key_cmp(enum nir_set_type type, const struct nir_elem *a,
		     const struct nir_elem *b);
/* Whole-element equality (key and data). */
bool nir_elem_equal(enum nir_set_type type, const struct nir_elem *a,
		    const struct nir_elem *b);

/* Equality of chain definitions (hook, type, prio, policy, every rule). */
bool nir_chain_equal(const struct nir_chain *a, const struct nir_chain *b);
/* Deep copies (NULL on ENOMEM). */
struct nir_chain *nir_chain_dup(const struct nir_chain *c);
struct nir_set *nir_set_dup(const struct nir_set *s);
void nir_chain_free(struct nir_chain *c);
void nir_set_free(struct nir_set *s);

/*
 * nft text, as `nft list table inet petrel` would print it (sets first,
 * then chains, in table order; one rule per line, a rule's comment as
 * `comment "..."`). Deterministic: same table, same bytes.
 */
void nir_render_table(const struct nir_table *t, FILE *out);
void nir_render_chain(const struct nir_chain *c, FILE *out);
void nir_render_set(const struct nir_set *s, FILE *out);
void nir_render_rule(const struct nir_rule *r, FILE *out);	/* no newline */

#endif
