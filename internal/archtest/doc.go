// Package archtest holds no code, only a test: it enforces the import rules
// of docs/architecture.md ("Layout and dependency directions") on the whole module, so a dependency that breaks the
// layering fails `go test ./...` (the same rules are in .golangci.yml for
// golangci-lint's depguard).
//
//   - formats imports nothing of mailferry's and no protocol library;
//   - transfer imports no source, sink, protocol library, urfave/cli,
//     progressbar or the Prometheus client;
//   - nothing imports cmd;
//   - only cmd imports urfave/cli, progressbar and the Prometheus client
//     (transfer reports figures through its Summary; cmd makes metrics of them);
//   - the mailferry binary links no test helper, and only test helpers
//     import testing;
//   - the mailferry binary links no Kubernetes library (only the tests of
//     deploy/kubernetes use them);
//   - each protocol library is imported only from its own folders (go-imap
//     from the imap packages and the Dovecot test harness, go-sasl from the imap and pop3 ones, go-pop3
//     from the pop3 ones, go-mbox from the
//     mbox ones), so a reader finds each protocol in one place.
package archtest
