// Package formats holds mailferry's pure codecs: line-ending conversion, the
// flag mapping table, the message fingerprint, mboxrd, and Maildir++ naming.
//
// formats does no network I/O, imports no protocol library and nothing else of
// mailferry, so every parser here can be fuzzed in isolation.
package formats
