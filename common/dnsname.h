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

/* Kubernetes' label rules (model/labels.h uses them; so does the config's
 * labels:). Key: an optional DNS subdomain and '/', then 1..63 of
 * [A-Za-z0-9._-] beginning and ending alphanumeric; value: the same, or "". */
bool dnsname_label_key_valid(const char *key);
bool dnsname_label_value_valid(const char *value);

#endif
