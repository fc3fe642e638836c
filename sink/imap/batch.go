package imap

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/emersion/go-imap/v2"

	"github.com/mailferry/mailferry/internal/imapconn"
	"github.com/mailferry/mailferry/transfer"
)

// A server commits each APPEND command on its own: Dovecot, for one,
// syncs the folder's directory, its dovecot-uidlist and its index once per
// command, whatever the number of messages in it. Sent one to a command,
// the messages of a run spend most of their time in those commits; a
// MULTIAPPEND (RFC 3502) of several takes one commit for all of them. On
// the benchmark's Dovecot a raw APPEND of 2,000 messages over four
// connections took about twice as long one to a command as four or more to
// a command (bench/limits append -batch).
//
// So where the server offers MULTIAPPEND, Put hands its message to the
// batcher, and the Puts into one folder that meet while a connection is
// busy go out as one command: the first becomes the batch's sender and
// waits for a connection with no command of a batch in flight; the others
// join its batch meanwhile, and while the sender writes their literals
// (non-synchronizing with LITERAL+), as long as the batch has room. Each
// Put still returns only with its own message's outcome, so nothing is
// journaled before the server has answered the command that carried it,
// and every Put keeps its body until then:
//
//   - a tagged OK stores all of the batch, and APPENDUID's uid-set names
//     each message's UID, in order;
//   - a NO or BAD stores none (the command is atomic), and says nothing of
//     which message it was about: each message of the batch is then sent
//     again in a command of its own, whose answer is its own;
//   - a connection lost before the answer leaves the server with all of
//     the batch or none of it (or, on a server that ignores the atomicity,
//     some, and part of one): the clean-up compares every message with a
//     UID since the batch began with each of the batch's, counts the
//     complete ones as stored and deletes partial ones, and the messages
//     not found are tried again.
//
// A server without MULTIAPPEND gets one message to a command, pipelined
// as before.
type batcher struct {
	s *Sink

	mu      sync.Mutex
	forming map[*destFolder]*batch // the batch of a folder that takes more messages
}

const (
	// batchMessages and batchBytes bound a batch: large enough that the
	// commit of a command is shared by many messages (four already
	// halved the time of the raw APPEND), small enough that a batch lost
	// with its connection costs little to send again.
	batchMessages = 64
	batchBytes    = 16 << 20
	// putWorkersPerConnection is how many Puts the sink asks for per
	// connection (transfer.PutWorkers): a connection carries one batch
	// while the next one gathers, so about half of them make a batch.
	// Dovecot commits once per command, so the batch's size sets the
	// pace: 8 workers made batches of 4–5 messages, 32 of 15–17, and
	// 32 copied the bench corpus about a fifth faster for 9 MiB more
	// peak RSS (the spools share the same memory however many there
	// are; what grows is the messages waiting in gathering batches).
	putWorkersPerConnection = 32
)

// batch is the messages of one APPEND command being gathered or sent.
type batch struct {
	f       *destFolder
	members []*member
	bytes   int64
	sent    int  // members handed to the connection
	sealed  bool // takes no more members
}

// member is one Put waiting in a batch.
type member struct {
	o    *outgoing
	done chan struct{}
	// err is the message's outcome; alone asks the Put to send the
	// message again in a command of its own.
	err   error
	alone bool
}

func newBatcher(s *Sink) *batcher {
	return &batcher{s: s, forming: make(map[*destFolder]*batch)}
}

// PutWorkers implements transfer.PutWorkers: a batch can only hold the
// messages of Puts that wait together.
func (s *Sink) PutWorkers() int {
	if s.batches == nil {
		return 0
	}
	return putWorkersPerConnection * s.pool.Size()
}

// put stores o with the batch of its folder and returns its outcome, or
// alone when the server refused the batch and o is to be sent by itself.
func (b *batcher) put(ctx context.Context, f *destFolder, o *outgoing) (alone bool, err error) {
	me := &member{o: o, done: make(chan struct{})}
	b.mu.Lock()
	bt := b.forming[f]
	if bt != nil && bt.takes(o) {
		bt.members = append(bt.members, me)
		bt.bytes += o.body.size
		b.mu.Unlock()
	} else {
		bt = &batch{f: f, members: []*member{me}, bytes: o.body.size}
		b.forming[f] = bt
		b.mu.Unlock()
		b.send(ctx, bt)
	}
	<-me.done
	return me.alone, me.err
}

// takes reports whether the batch has room for o; b.mu is held.
func (bt *batch) takes(o *outgoing) bool {
	return !bt.sealed && len(bt.members) < batchMessages && bt.bytes+o.body.size <= batchBytes
}

// next hands the connection the batch's next message, or seals the batch
// when every member is on its way.
func (b *batcher) next(bt *batch) (*imapconn.AppendMessage, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if bt.sent == len(bt.members) {
		b.seal(bt)
		return nil, false
	}
	o := bt.members[bt.sent].o
	bt.sent++
	return &imapconn.AppendMessage{Flags: o.flags, Date: o.m.Date, Size: o.body.size, Body: o.body.copyTo}, true
}

// seal ends the batch's gathering; b.mu is held.
func (b *batcher) seal(bt *batch) {
	bt.sealed = true
	if b.forming[bt.f] == bt {
		delete(b.forming, bt.f)
	}
}

// send sends the batch as one APPEND command once a connection is free of
// other batches, and settles every member.
func (b *batcher) send(ctx context.Context, bt *batch) {
	s := b.s
	slot, err := s.pipes.acquire(ctx, 1)
	if err != nil {
		b.mu.Lock()
		b.seal(bt)
		b.mu.Unlock()
		for _, me := range bt.members {
			me.finish(err, false)
		}
		return
	}
	mark := bt.f.uidMark()
	pend, sent, werr := slot.p.SendMulti(bt.f.serverName(), func() (*imapconn.AppendMessage, bool) { return b.next(bt) })
	b.mu.Lock()
	b.seal(bt) // a failed write may leave it unsealed
	b.mu.Unlock()
	var res *imapconn.AppendResult
	err = werr
	if werr == nil {
		res, err = pend.Wait(ctx, slot.p)
	}
	s.pipes.release(slot)
	b.settle(ctx, bt, sent, mark, res, err)
}

// settle gives every member of a sent batch its outcome (see batcher).
func (b *batcher) settle(ctx context.Context, bt *batch, sent int, mark imap.UID, res *imapconn.AppendResult, err error) {
	s, f := b.s, bt.f
	if sent == 0 {
		// The command never began (the pipe's connection had broken,
		// or the folder's name cannot be sent).
		for _, me := range bt.members {
			if errors.Is(err, imapconn.ErrNotSent) {
				me.finish(transfer.TemporaryError(fmt.Errorf("folder %q, message %s: %w", me.o.m.Folder, me.o.m.ID, err)), false)
			} else {
				me.finish(err, false)
			}
		}
		return
	}
	// Members the connection never took are not on the server: the
	// server answered first (they are sent alone), or the connection
	// broke (they are tried again).
	unsent := bt.members[sent:]
	sentMembers := bt.members[:sent]
	for _, me := range unsent {
		if imapconn.IsResponse(err) {
			me.finish(nil, true)
			continue
		}
		me.finish(transfer.TemporaryError(fmt.Errorf("folder %q, message %s: %w: the APPEND command carrying it broke off first", me.o.m.Folder, me.o.m.ID, imapconn.ErrNotSent)), false)
	}
	switch {
	case err == nil:
		uids := res.UIDs
		if len(uids) != len(sentMembers) {
			uids = nil
		}
		for i, me := range sentMembers {
			if uids != nil {
				f.appended(uids[i])
				s.noteStored(f, me.o.m, res.UIDValidity, uids[i], me.o.body)
			}
			me.finish(nil, false)
		}
	case imapconn.IsResponse(err) && len(sentMembers) == 1:
		// The answer is the message's own.
		me := sentMembers[0]
		me.finish(s.refused(me.o.m, err), false)
	case imapconn.IsResponse(err):
		for _, me := range sentMembers {
			me.finish(nil, true)
		}
	default:
		outs := make([]*outgoing, len(sentMembers))
		for i, me := range sentMembers {
			outs[i] = me.o
		}
		stored, cerr := s.cleanup(ctx, f, outs, mark)
		for i, me := range sentMembers {
			switch {
			case cerr != nil:
				me.finish(cerr, false)
			case stored[i]:
				me.finish(nil, false)
			default:
				me.finish(transfer.TemporaryError(fmt.Errorf("folder %q, message %s: %w", me.o.m.Folder, me.o.m.ID, err)), false)
			}
		}
	}
}

func (me *member) finish(err error, alone bool) {
	me.err, me.alone = err, alone
	close(me.done)
}
