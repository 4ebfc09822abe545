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
/* RSA 2048: the WeChat Pay platform key of fuzz_wechat and tests/unit/test_wechat.c */
static const char FUZZ_KEY_RSA[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCjxkyT7M9Xa7Ot\n"
    "T6RmWYNXp8qd2zyck6WzMm4Jz5A4AmpVkJeDrQrhs3olGNRUMC4o1TOTzspUCkmQ\n"
    "ErnM0wttCxR/33rI7QeVRzpsPii+9/rBGsEisbyCTF5OiNlazsWtK5xrTvswFsnM\n"
    "QA+7R2UyrYDeatjYYbHm/E7reqo3hjbzfNzTxZUZoiR36WHHBuqPjs+vmOAoM0Zd\n"
    "ffP9KRxT0xTHKoe9QKF4/ZaW+yKoO3sO0Fz6bvXQyE119STlEcY+K4PiCiQkF62v\n"
    "2XPmhF3f5OXBIpvsrDeP6F/3CjYgNYlVr1XOpywTY2Iu7OYAMKMjBqNHKRx+qJe5\n"
    "9SFTGSjbAgMBAAECggEAFe9Fq1xAquM8Zd5wVNrxSeiprPnDhO8LdtQuw7aeiLne\n"
    "FwauHE8tUWxR1C0epwXq8MIZTdcY5yeXkanIY8PyWFDvFm9OiSGh7d7j1sJ+f5FD\n"
    "7uAP9P8cEdF7ogYXIl/mPtrD8OVbpCWxMl90G++kgKSXSXLDBzwScS7ivQwpRxVG\n"
    "UWI38mOSJyQBG73a4b7g7Zo26DA5V8tzxIuyhhEi6DN981O9HIN5nBud/y2tLVRD\n"
    "K4WFAfkLQBIeXPftP7i5sIBIpQsn4IDc0/EJ3BEKY7Osl6ZQOGFAQsNv8iVGzdSW\n"
    "U04rJSSGlyg+EcTJH57tUD5+EoUaDSTskEE8BU7rTQKBgQDYV1UPaKijFxQlNLLz\n"
    "ZJArVsT4i7qbwOU5Lne2Uger1h6t7JuGubPVeBpXsq69/JqQ4C9ofuc3/qEcuxVp\n"
    "WXF4DUwPH97AEkeixOjweWWFukYF7C8ALsB4u5SRQCqTJKoq6QcVVI+Hk+R+2EV1\n"
    "Yz9IA4DjySt+WWCrGdXBU6s/7QKBgQDBzBLDtAL8onbkC0J8zdQ3nhN0K32+PeVY\n"
    "eXSozNdcH6neXVTDJYK7L+kPplEUGcJaX5tLyiTv2deOUchDO8WYmZtdchn7PoQw\n"
    "KvJxsMmNGNvdiGyTdAfuBMtscFhPb1lf6j50naAhVeVechai7R4CnZEVi2bYQCwY\n"
    "KhEL9Mki5wKBgHz3zaHOAgPbk/5995UTFRiD0doE1PGdtouWZP6DWf0P/b7X+2sS\n"
    "oGgCLa1VAQ2r+hkP9zK0g5nb03NGOnMVgK8pdzMRZNmsdYb3mds3NMbPuB05tliz\n"
    "qOjU6lgRKca/mjCZVUckBpj5fDctdMn/X5GYvH5YOXCN7oJHtSssyrJtAoGAKroE\n"
    "dRNOCUcEcViuKvfyTuTSIy2nhnb9BpmYh9LJtGzitbzcAD5X6U8x0hp4C7d2Kxij\n"
    "E32Y0Sy1IpKTVYdrFC7hmyOZ6NOqrzf4xeoVNb+CUgBO99+AFBEIjHrkbXb+PHBX\n"
    "nrxV3qOic0UyCm++yxLUNuzKGuljD1zO71Tjt4cCgYAu09f727xFhHLRo2Fp4OBs\n"
    "ZdZyqs8PNyvh6BcCxTzvYMhLjc97q1qzQbfX0F5r5jxqd+Wqgxos9OMFOH/MIul3\n"
    "rGzR62QPMnQTIsjhJmMEN9B6TCQ0Iw1Ay/ibhUF9QV1l3IyFnI4PQKcCZaLcnDtz\n"
    "fJaSz3tzkuecznqymnr0JA==\n"
    "-----END PRIVATE KEY-----\n";

#endif
