/*
 * ktable.h: what kernel.c, ktable.c and kwrite.c share (private to them):
 * the tables' changes, and the request socket's send and receive.
 */
#ifndef PETREL_FELIX_KTABLE_H
#define PETREL_FELIX_KTABLE_H

#include <sys/types.h>

#include "felix/felix.h"

void kt_route_remove(struct felix *f, struct kroute *r);
void kt_neigh_remove(struct felix *f, struct kneigh *n);
void kt_link_remove(struct felix *f, struct klink *l);
struct kroute *kt_route_upsert(struct felix *f, uint32_t dst, uint8_t len,
			       uint32_t prio, uint8_t tos);
void kt_route_set_oif(struct felix *f, struct kroute *r, int oif);
struct kneigh *kt_neigh_upsert(struct felix *f, int ifindex, uint32_t addr);

int kern_sock_send(struct nl_sock *sk, const void *buf, size_t len);
ssize_t kern_sock_recv(struct felix *f, struct nl_sock *sk, int flags);

#endif
