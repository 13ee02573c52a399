/*
 * status: the client side of felix's status socket (<runDir>/felix.sock,
 * a unix stream socket, mode 0600).
 *
 * Protocol: the client writes one JSON object and a newline; felix answers
 * with one JSON object and a newline, then closes.
 *   {"op":"status"}
 *     → {"ok":true,"node":"node1","pid":123,"revision":57,"endpoints":3,
 *        "programmed":3,"blocks":1,"lastResyncMs":4,
 *        "bgp":{"enabled":true,"birdRunning":true,"configPath":"...",
 *               "socket":"...","pending":false,"lastError":null}}
 *       (birdRunning is felix's last probe, at most ~5 s old)
 *   {"op":"wait","endpoint":"web","revision":57,"timeoutMs":10000}
 *     → once felix has applied the store up to revision 57 and the endpoint
 *       "web" of this node is programmed (routed: sysctls, route, neighbour;
 *       other modes: recorded): {"ok":true}
 *     → {"ok":false,"error":"..."} on timeout or when the endpoint is gone.
 *   {"op":"wait","endpoint":"web","revision":60,"gone":true,...}
 *     → once felix has applied revision 60 and holds no state for "web".
 *   Anything else → {"ok":false,"error":"..."}.
 */
#ifndef PETREL_STATUS_H
#define PETREL_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest reply status_call reads: a sanity bound only (`petrelctl nft`
 * of a big table is megabytes); a unit test may lower it. */
#define STATUS_REPLY_MAX (64u << 20)
extern size_t status_reply_max;

/* Sends req, waits up to timeout_ms for the reply. 0 and *reply (new
 * reference), or -errno (-ENOENT/-ECONNREFUSED: felix not running;
 * -ETIMEDOUT; -EPROTO: a reply that is not one JSON object). */
int status_call(const char *sock_path, json_t *req, int timeout_ms,
		json_t **reply);

/* The reply line status_call read (len bytes, up to the first newline or
 * all of them) as one JSON object: 0 and *reply (new reference), or -EPROTO.
 * It is what felix sent: anything (tests/fuzz/fuzz_status.c). */
int status_reply_parse(const char *buf, size_t len, json_t **reply);
/* What a reply says: 0 when its "ok" is true; else -EREMOTEIO, with its
 * "error" text ("failed" when it has none) into why (which may be NULL). */
int status_reply_result(const json_t *reply, char *why, size_t why_len);

/* The "wait" request of endpoint creators and removers: until felix has
 * applied store revision rev and endpoint name is programmed (gone: its state
 * removed). timeout_ms is felix's own bound; the call allows a second more
 * for its answer. 0 when felix said ok; -EREMOTEIO when it answered an error
 * (its text copied into why, which may be NULL); else status_call's errors
 * (-ENOENT/-ECONNREFUSED/-ECONNRESET: felix not running). */
int status_wait(const char *sock_path, const char *name, int64_t rev,
		bool gone, int timeout_ms, char *why, size_t why_len);

#endif
