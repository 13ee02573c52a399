/*
 * fuzz_config: libFuzzer harness for common/config.c (a node's
 * petrel.yaml). Any input must parse or fail with at least one message; an
 * accepted config must hold only values its validation allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;

	if (size > 64 * 1024)
		return 0;
	if (config_parse("fuzz.yaml", (const char *)data, size, &c, &e) == 0) {
		if (e.n)
			abort();
		if (c.route_protocol < 1 || c.route_protocol > 255 ||
		    (c.route_protocol >= 2 && c.route_protocol <= 4))
			abort();
		if (c.resync_interval < 1 || c.resync_interval > 86400 ||
		    c.wait_timeout < 1 || c.wait_timeout > 600)
			abort();
		if (c.run_dir[0] != '/' || c.bird_config[0] != '/' || c.bird_socket[0] != '/')
			abort();
		if (strnlen(c.netns_prefix, sizeof(c.netns_prefix)) > 16 ||
		    strnlen(c.node, sizeof(c.node)) >= sizeof(c.node))
			abort();
	} else if (e.n == 0) {
		abort();
	}
	errs_clear(&e);
	return 0;
}
