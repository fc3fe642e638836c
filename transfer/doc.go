// Package transfer is the core of mailferry: the Message, Source and Sink
// contracts every store implements, and Run, the pipeline that plans, fetches,
// puts and commits messages between them with a journal that makes every run
// resumable and duplicate-free.
//
// transfer imports no protocol library, no source or sink, and nothing that
// renders output: progress is reported through the Progress interface.
package transfer
