/* sha1: FIPS 180-4 SHA-1, only to derive stable interface names (not for security). */
#ifndef PETREL_SHA1_H
#define PETREL_SHA1_H

#include <stddef.h>
#include <stdint.h>

void sha1(const void *data, size_t len, uint8_t out[20]);

#endif
