/*
 * libFuzzer target: petrelctl's command-line parsing. The input is split on
 * NUL bytes into an argument vector; the CLI is built with PETREL_FUZZ, so
 * that ctl_setup() fails before any config, namespace or datastore is
 * touched (run it with -close_fd_mask=3: usage texts are many): what runs is
 * getopt, every verb's option and value parsing (labels, modes, networks,
 * published ports `-p [IP:][HOSTPORT:]PORT[/proto]`, --expose, addresses,
 * output formats, the sub-verbs of pool, ipam, network and policy) and the
 * usage texts. The seeds (tests/fuzz/corpus/fuzz_cli/) are argument vectors
 * with NUL between the arguments; fuzz_cli.dict holds the verbs and options.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int petrelctl_main(int argc, char **argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[MAX_ARGS + 2];
	int argc = 0;
	size_t i, start = 0;

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "petrelctl";
	for (i = 0; i <= size && argc < MAX_ARGS + 1; i++) {
		if (i == size || buf[i] == '\0') {
			buf[i] = '\0';
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	petrelctl_main(argc, argv);
	fflush(stdout);
	free(buf);
	return 0;
}
