/*
 * fuzz_status: libFuzzer harness for the client side of felix's status
 * socket (common/status.c): what status_call makes of the bytes felix sent
 * (status_reply_parse) and what status_wait and the CLI read from the
 * reply (status_reply_result). The input: its first byte is the size of
 * the caller's error buffer (0..255), the rest is the reply as read.
 *
 * Invariants checked: a parsed reply is a JSON object whose compact
 * re-encoding parses to an equal object (so it was the first line and
 * nothing else); a refused one is -EPROTO with nothing returned; the
 * result is 0 exactly when "ok" is true, else -EREMOTEIO with the error
 * text (or "failed") cut to the buffer and NUL-terminated; nothing leaks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *reply = (json_t *)1, *again;
	char why[256], *text;
	size_t wl;
	int r;

	if (size < 1 || size > 1 << 20)
		return 0;
	wl = data[0];
	r = status_reply_parse((const char *)data + 1, size - 1, &reply);
	if (r < 0) {
		if (r != -EPROTO || reply != (json_t *)1)
			abort();
		return 0;
	}
	if (!json_is_object(reply))
		abort();
	text = json_dumps(reply, JSON_COMPACT);
	again = text ? json_loads(text, 0, NULL) : NULL;
	if (text && (!again || !json_equal(reply, again) || strchr(text, '\n')))
		abort();
	json_decref(again);
	free(text);
	memset(why, 'x', sizeof(why));
	r = status_reply_result(reply, wl ? why : NULL, wl);
	if (json_is_true(json_object_get(reply, "ok"))) {
		if (r != 0 || (wl && why[0]))
			abort();
	} else {
		const char *e = json_string_value(json_object_get(reply, "error"));

		if (r != -EREMOTEIO)
			abort();
		if (wl) {
			if (!memchr(why, '\0', wl) ||
			    strncmp(why, e ? e : "failed", wl - 1))
				abort();
		}
	}
	json_decref(reply);
	return 0;
}
