/*
 * keys: the datastore's key space, the one place that spells a key.
 *
 *   /petrel/<kind-plural>/<name>             a resource (res_key(), model/res.h)
 *   /petrel/workloadendpoints/<node>/<name>  a WorkloadEndpoint
 *   /petrel/hostports/<node>/<proto>-<port>  a host-port reservation
 *                                            (value {"workload": NAME})
 *   /petrel/ipamgateways/<node>/<pool>       a petrel-ipam gateway record
 *                                            (cni/ipamgw.h)
 *   /petrel/nodestatus/<node>                felix's heartbeat on that node:
 *                                            {"node", "felix": {"pid", "version",
 *                                            "startedAt", "heartbeat" (unix s),
 *                                            "intervalSeconds", "stopped"}}
 *                                            (felix/noderec.c; node rm reads it)
 *   /petrel/config/ippools-version           the pool sentinel: its revision
 *                                            orders pool creations and deletions
 *
 * Every key is under KEYS_ROOT, so one watch on KEYS_ROOT sees every change.
 * A new key family is added here, and nowhere else.
 */
#ifndef PETREL_MODEL_KEYS_H
#define PETREL_MODEL_KEYS_H

#define KEYS_ROOT "/petrel/"
#define KEYS_HOSTPORTS KEYS_ROOT "hostports/"
#define KEYS_IPAMGATEWAYS KEYS_ROOT "ipamgateways/"
#define KEYS_NODESTATUS KEYS_ROOT "nodestatus/"
#define KEYS_POOLS_SENTINEL KEYS_ROOT "config/ippools-version"

#endif
