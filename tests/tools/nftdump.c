/*
 * nftdump: prints the nft text of the compiler's test worlds
 * (tests/unit/pol_scenarios.h), for tests/integration/test_nftir.sh, which
 * has `nft -c -f` check each.
 *
 *   nftdump -l          the scenario names, one a line
 *   nftdump NAME        the table compile_table makes of scenario NAME
 *
 * Exit 0 ok, 1 error (a message on stderr), 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/pol_scenarios.h"

static int dump(const struct sc_scenario *sc)
{
	struct sc_world *w = calloc(1, sizeof(*w));
	struct errs e = ERRS_INIT;
	struct nir_table *t;

	if (!w)
		return 1;
	sc->build(w);
	t = compile_table(sc_input(w), &e);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "nftdump: %s: %s\n", sc->name, e.msg[i]);
	if (t)
		nir_render_table(t, stdout);
	nir_table_free(t);
	errs_clear(&e);
	sc_world_free(w);
	free(w);
	return t ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nftdump -l | nftdump NAME\n");
		return 2;
	}
	for (size_t i = 0; i < SC_N; i++) {
		if (!strcmp(argv[1], "-l"))
			printf("%s\n", sc_scenarios[i].name);
		else if (!strcmp(argv[1], sc_scenarios[i].name))
			return dump(&sc_scenarios[i]);
	}
	if (strcmp(argv[1], "-l")) {
		fprintf(stderr, "nftdump: no scenario %s\n", argv[1]);
		return 1;
	}
	return 0;
}
