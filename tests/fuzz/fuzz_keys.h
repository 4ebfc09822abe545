/* Fixed keys of the fuzz harnesses and the seed generator (test keys, nothing else):
 * the account key and a second key (keyChange, a new account, a CSR key). */
#ifndef FUZZ_KEYS_H
#define FUZZ_KEYS_H
static const char FUZZ_KEY_ACCOUNT[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQmZ/Hzdxi0uoLAmY\n"
    "RJipFn01QDIUX+EF0kj26rFPIPOhRANCAAQTJKQK3VYrQ5Vky8hh/RXoN8vsOlNP\n"
    "sYNbyMxoL5TobJdfIKNBcfFrzlISD+qoH7gOm13uioa6rbQk/s5TUrae\n"
    "-----END PRIVATE KEY-----\n"
    ;
static const char FUZZ_KEY_OTHER[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRcjPCu/AO4jDC38o\n"
    "kin1yeAWOhNsBCwMS3PVIXQTY4ehRANCAAQCscFmVOAQ5zHzISPuB1KVpRwESLHl\n"
    "LfBSL1upVeIRRMR662BAX0UneszTDx0MBgmGAWwhnBNJtM/nSF4wLlGD\n"
    "-----END PRIVATE KEY-----\n"
    ;
#endif
