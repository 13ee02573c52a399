/*
 * dnsname: the one name rule petrel's objects share (a Node, a resource, the
 * node name in the config file): 1..63 of lower-case letters, digits, '-'
 * and '.', beginning and ending with a letter or digit (as Kubernetes'
 * object names, RFC 1123). model/res.h's res_name_valid is this rule.
 */
#ifndef PETREL_DNSNAME_H
#define PETREL_DNSNAME_H

#include <stdbool.h>

#define DNSNAME_MAX 64		/* with the NUL */

bool dnsname_valid(const char *name);

#endif
