package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/mailferry/mailferry/formats"
)

// VerifyOptions control one Verify. Filters and folder mapping follow Run's
// rules, so a verify given the options of a copy checks what that copy was
// asked to do.
type VerifyOptions struct {
	// Include and Exclude select source folders by name, as in Options.
	Include, Exclude []*regexp.Regexp
	// Since, Before and MaxSize select source messages, as in Options.
	// Destination messages outside them are not reported as extra.
	Since, Before time.Time
	MaxSize       int64
	// Map and FlattenTo name the destination folder of a source folder, as
	// in Options. Without them, a source folder with a special-use role is
	// looked for in the destination folder of the same role.
	Map       []FolderMapping
	FlattenTo string

	// Connections bounds how many folders are verified at once (each needs
	// one Fetch on either side); it is further bounded by both stores'
	// MaxFetchers. 0 means 4.
	Connections int
	// ChunkSize is how many messages one Fetch call asks for; 0 means 256.
	ChunkSize int
	// Retries is how often a temporary error is retried; 0 means 5, a
	// negative value disables retries. RetryDelay is the first backoff
	// (doubled each time, capped at 30s); 0 means 1s.
	Retries    int
	RetryDelay time.Duration

	// OnDifference, when set, is called for each difference as it is
	// found, never concurrently.
	OnDifference func(Difference)
	// OnFolder, when set, is called when a source folder has been
	// verified, never concurrently with itself or OnDifference.
	OnFolder func(FolderCheck)
	// Warn, when set, receives what the user should know that is not a
	// difference (a destination message that could not be read).
	Warn func(string)
}

// DiffKind says how a source message and the destination disagree.
type DiffKind int

const (
	// DiffMissing: no destination message has the source message's
	// content (it is missing, or stored with different bytes).
	DiffMissing DiffKind = iota + 1
	// DiffFlags: the destination copy has other flags.
	DiffFlags
	// DiffDate: the destination copy has another arrival date.
	DiffDate
	// DiffExtra: a destination message no source message accounts for.
	// It is not a failure: the destination may hold more than the source.
	DiffExtra
)

func (k DiffKind) String() string {
	switch k {
	case DiffMissing:
		return "missing"
	case DiffFlags:
		return "flags"
	case DiffDate:
		return "date"
	case DiffExtra:
		return "extra"
	}
	return fmt.Sprintf("DiffKind(%d)", int(k))
}

// Difference is one disagreement between source and destination.
type Difference struct {
	Kind DiffKind
	// Folder and ID name the source message; both are empty for
	// DiffExtra.
	Folder, ID string
	// DestFolder is the destination folder compared against. DestID names
	// the destination message; it is empty for DiffMissing.
	DestFolder, DestID string
	// Subject and MessageID come from the message's header when it was
	// small enough to read cheaply; either may be empty. Control
	// characters are replaced, so they are safe to print.
	Subject, MessageID string
	// SourceFlags and DestFlags are set for DiffFlags, normalised
	// (formats.NormalizeFlags).
	SourceFlags, DestFlags []string
	// SourceDate and DestDate are set for DiffDate.
	SourceDate, DestDate time.Time
	// Reason says why a message counts as missing.
	Reason string
	// Messages is set when a whole source folder is missing (ID is then
	// empty): how many of its messages that accounts for. A destination
	// folder that does not exist is one difference, not one per message.
	Messages int
}

// FolderCheck is the outcome for one source folder.
type FolderCheck struct {
	Folder, DestFolder string
	Checked            int
	Missing            int
	FlagDiffs          int
	DateDiffs          int
}

// VerifyResult is what a Verify found. Differences are sorted by folder,
// kind and message.
type VerifyResult struct {
	// Checked is the number of source messages compared.
	Checked   int
	Missing   int
	FlagDiffs int
	DateDiffs int
	// Extra counts destination messages no source message accounts for,
	// in the destination folders that source folders map to.
	Extra       int
	Differences []Difference
	Seconds     float64
}

// OK reports whether every checked source message is at the destination
// with its content, flags and date. Extra messages do not count against it.
func (r VerifyResult) OK() bool { return r.Missing == 0 && r.FlagDiffs == 0 && r.DateDiffs == 0 }

// Missing reasons.
const (
	reasonContent    = "content differs or missing at the destination"
	reasonNoFolder   = "destination folder %q does not exist"
	reasonUnreadable = "could not be read from the source: %v"
)

// maxSubject bounds the Subject kept per message, in runes.
const maxSubject = 120

// Verify proves that dst holds every message of src that the options
// select. It is Run's pipeline without the writing: the same selection of
// folders and messages, the same folder pairing (a special-use role is
// looked for as the IMAP sink resolves it, a folder the destination refused
// under RefusedFolderName), the same fetch loop with resume and the same
// backoff. Every body is streamed once on either side into a
// formats.Digester, so content is compared as the plan compares it,
// tolerating exactly the rewrites servers make when they store mail (line
// endings, Dovecot's NUL → 0x80, Cyrus's 8-bit header bytes → X, a final
// CRLF added by Courier), and messages are matched by digest as a multiset.
// A matched copy is then compared for flags (normalised, \Recent ignored)
// and arrival date to the second (not when the source date is unknown).
// Only digests and a little metadata are held, so memory does not grow with
// message size.
//
// Differences are reported, not returned as errors: the error is for
// what stopped the verification (a connection that kept failing, a folder
// that cannot be listed). A source message the source cannot read counts
// as missing, since it could not be proven present.
func Verify(ctx context.Context, src, dst Source, opts VerifyOptions) (VerifyResult, error) {
	start := time.Now()
	v := newVerifier(src, dst, opts)
	err := v.run(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	res := v.res
	sort.SliceStable(res.Differences, func(i, j int) bool {
		a, b := res.Differences[i], res.Differences[j]
		if fa, fb := a.sortFolder(), b.sortFolder(); fa != fb {
			return fa < fb
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.DestID < b.DestID
	})
	res.Seconds = time.Since(start).Seconds()
	return res, err
}

func (d Difference) sortFolder() string {
	if d.Kind == DiffExtra {
		return d.DestFolder
	}
	return d.Folder
}

// verifier is the state of one Verify.
type verifier struct {
	src, dst Source
	opts     VerifyOptions
	sel      selection // Run's selection of folders and messages
	retrier  retrier   // Run's backoff

	mu  sync.Mutex // guards res and serialises the callbacks
	res VerifyResult
}

func newVerifier(src, dst Source, opts VerifyOptions) *verifier {
	if opts.Connections <= 0 {
		opts.Connections = 4
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 256
	}
	v := &verifier{src: src, dst: dst, opts: opts}
	v.retrier = newRetrier(opts.Retries, opts.RetryDelay, v.event)
	v.sel = newSelection(Options{Include: opts.Include, Exclude: opts.Exclude,
		Since: opts.Since, Before: opts.Before, MaxSize: opts.MaxSize, Map: opts.Map, FlattenTo: opts.FlattenTo})
	return v
}

// pair is one destination folder and the source folders that map to it.
type pair struct {
	dest    string
	exists  bool
	sources []Folder
}

func (v *verifier) run(ctx context.Context) error {
	var srcFolders, dstFolders []Folder
	err := v.retrier.do(ctx, "", nil, "listing source folders", func() error {
		var err error
		srcFolders, err = v.src.Folders(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("listing source folders: %w", err)
	}
	err = v.retrier.do(ctx, "", nil, "listing destination folders", func() error {
		var err error
		dstFolders, err = v.dst.Folders(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("listing destination folders: %w", err)
	}
	paired, err := pairFolders(ctx, v.sel, srcFolders, listedRoles(dstFolders), v.retrier)
	if err != nil {
		return err
	}
	pairs := locate(paired, dstFolders)

	limit := v.opts.Connections
	for _, s := range []Source{v.src, v.dst} {
		n := 1
		if f, ok := s.(Fetchers); ok && f.MaxFetchers() > 1 {
			n = f.MaxFetchers()
		}
		limit = min(limit, n)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for _, p := range pairs {
		g.Go(func() error { return v.verifyPair(gctx, p) })
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	return ctx.Err()
}

// locate finds each paired destination folder in the destination's list:
// under its name, else under the name a sink gives a folder it was refused
// (RefusedFolderName), as the plan's index does. Pairs that land in one
// folder that way are merged.
func locate(paired []folderPair, dst []Folder) []*pair {
	has := make(map[string]bool, len(dst))
	for _, d := range dst {
		has[d.Name] = true
	}
	var pairs []*pair
	byDest := make(map[string]*pair)
	for _, fp := range paired {
		dest, exists := fp.dest, has[fp.dest]
		if alt := RefusedFolderName(dest); !exists && alt != dest && has[alt] {
			dest, exists = alt, true
		}
		p := byDest[dest]
		if p == nil {
			p = &pair{dest: dest, exists: exists}
			byDest[dest] = p
			pairs = append(pairs, p)
		}
		p.sources = append(p.sources, fp.sources...)
	}
	return pairs
}

// hashed is one message with the content digest of its body.
type hashed struct {
	msg       Message
	digest    string // formats.ContentDigest
	subject   string
	messageID string
	used      bool
}

// verifyPair verifies the source folders of p against p.dest.
func (v *verifier) verifyPair(ctx context.Context, p *pair) error {
	var (
		dest     []*hashed
		byDigest = make(map[string][]*hashed)
		srcAll   = make([][]*hashed, len(p.sources))
		absent   = make([]int, len(p.sources)) // selected messages of a source folder whose destination does not exist
	)
	g, gctx := errgroup.WithContext(ctx)
	if p.exists {
		g.Go(func() error {
			msgs, err := v.list(gctx, v.dst, "destination", p.dest)
			if err != nil {
				return err
			}
			dest, err = v.hashAll(gctx, v.dst, p.dest, msgs, func(m Message, err error) {
				v.warn(fmt.Sprintf("destination folder %q, message %s could not be read, so it cannot count as a copy: %v", p.dest, m.ID, err))
			})
			return err
		})
	}
	g.Go(func() error {
		for i, f := range p.sources {
			msgs, err := v.list(gctx, v.src, "source", f.Name)
			if err != nil {
				return err
			}
			var sel []Message
			undated := false
			for _, m := range msgs {
				if v.sel.message(m) {
					sel = append(sel, m)
					undated = undated || m.Date.IsZero()
				}
			}
			if !p.exists && !(undated && v.sel.filtersDates()) {
				// Nothing to compare with: the folder is missing as a
				// whole, and no body is needed to know which messages
				// it misses.
				absent[i] = len(sel)
				continue
			}
			got, err := v.hashAll(gctx, v.src, f.Name, sel, func(m Message, err error) {
				v.report(Difference{Kind: DiffMissing, Folder: f.Name, ID: m.ID, DestFolder: p.dest,
					Reason: fmt.Sprintf(reasonUnreadable, err)})
			})
			if err != nil {
				return err
			}
			// A message listed without a date is filtered once its date
			// is known, as Run does.
			srcAll[i] = slices.DeleteFunc(got, func(h *hashed) bool { return !v.sel.date(h.msg) })
			if !p.exists {
				absent[i], srcAll[i] = len(srcAll[i]), nil
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}

	for _, d := range dest {
		byDigest[d.digest] = append(byDigest[d.digest], d)
	}
	for i, f := range p.sources {
		check := FolderCheck{Folder: f.Name, DestFolder: p.dest, Checked: len(srcAll[i]) + absent[i]}
		if absent[i] > 0 {
			check.Missing = absent[i]
			v.report(Difference{Kind: DiffMissing, Folder: f.Name, DestFolder: p.dest, Messages: absent[i],
				Reason: fmt.Sprintf(reasonNoFolder, p.dest)})
		}
		v.compare(p, srcAll[i], byDigest, &check)
		v.mu.Lock()
		v.res.Checked += check.Checked
		if v.opts.OnFolder != nil {
			v.opts.OnFolder(check)
		}
		v.mu.Unlock()
	}
	for _, d := range dest {
		if d.used || !v.sel.message(d.msg) {
			continue
		}
		v.report(Difference{Kind: DiffExtra, DestFolder: p.dest, DestID: d.msg.ID,
			Subject: d.subject, MessageID: d.messageID})
	}
	return nil
}

// compare matches the messages of one source folder to unused destination
// messages of equal content. Exact copies are paired first, so identical
// messages with different flags or dates pair up as well as they can.
func (v *verifier) compare(p *pair, msgs []*hashed, byDigest map[string][]*hashed, check *FolderCheck) {
	match := make([]*hashed, len(msgs))
	sameFlags := func(s, d *hashed) bool {
		return slices.Equal(formats.NormalizeFlags(s.msg.Flags), formats.NormalizeFlags(d.msg.Flags))
	}
	sameDate := func(s, d *hashed) bool {
		return s.msg.Date.IsZero() || (!d.msg.Date.IsZero() && s.msg.Date.Unix() == d.msg.Date.Unix())
	}
	passes := []func(s, d *hashed) bool{
		func(s, d *hashed) bool { return sameFlags(s, d) && sameDate(s, d) },
		sameDate,
		sameFlags,
		func(s, d *hashed) bool { return true },
	}
	for _, ok := range passes {
		for i, s := range msgs {
			if match[i] != nil {
				continue
			}
			for _, d := range byDigest[s.digest] {
				if !d.used && ok(s, d) {
					d.used = true
					match[i] = d
					break
				}
			}
		}
	}
	for i, s := range msgs {
		base := Difference{Folder: s.msg.Folder, ID: s.msg.ID, DestFolder: p.dest, Subject: s.subject, MessageID: s.messageID}
		d := match[i]
		if d == nil {
			diff := base
			diff.Kind = DiffMissing
			diff.Reason = reasonContent
			check.Missing++
			v.report(diff)
			continue
		}
		base.DestID = d.msg.ID
		if !sameFlags(s, d) {
			diff := base
			diff.Kind = DiffFlags
			diff.SourceFlags = formats.NormalizeFlags(s.msg.Flags)
			diff.DestFlags = formats.NormalizeFlags(d.msg.Flags)
			check.FlagDiffs++
			v.report(diff)
		}
		if !sameDate(s, d) {
			diff := base
			diff.Kind = DiffDate
			diff.SourceDate = s.msg.Date
			diff.DestDate = d.msg.Date
			check.DateDiffs++
			v.report(diff)
		}
	}
}

// report counts a difference, keeps it and passes it on.
func (v *verifier) report(d Difference) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch d.Kind {
	case DiffMissing:
		v.res.Missing += max(d.Messages, 1)
	case DiffFlags:
		v.res.FlagDiffs++
	case DiffDate:
		v.res.DateDiffs++
	case DiffExtra:
		v.res.Extra++
	}
	v.res.Differences = append(v.res.Differences, d)
	if v.opts.OnDifference != nil {
		v.opts.OnDifference(d)
	}
}

func (v *verifier) warn(msg string) {
	if v.opts.Warn == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.opts.Warn(msg)
}

// event turns the pipeline's retries and warnings into Warn lines.
func (v *verifier) event(e Event) {
	var b strings.Builder
	if e.Kind == EventRetry {
		fmt.Fprintf(&b, "retrying (attempt %d) ", e.Count)
	}
	b.WriteString(e.Text)
	if e.Folder != "" {
		fmt.Fprintf(&b, " (folder %q", e.Folder)
		if e.Message != nil {
			fmt.Fprintf(&b, ", message %s", e.Message.ID)
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	v.warn(b.String())
}

// list lists folder of s, retrying temporary errors. side ("source",
// "destination") names s in errors.
func (v *verifier) list(ctx context.Context, s Source, side, folder string) ([]Message, error) {
	var msgs []Message
	err := v.retrier.do(ctx, folder, nil, "listing the "+side+" folder", func() error {
		var err error
		msgs, err = s.List(ctx, folder)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s folder %q: listing messages: %w", side, folder, err)
	}
	for i := range msgs {
		msgs[i].Folder = folder
	}
	return msgs, nil
}

// hashAll fetches msgs of folder from s in chunks with the pipeline's fetch
// loop and digests each body. A message that cannot be read (the source
// says so, or does not deliver it) goes to bad, and the others are still
// digested.
func (v *verifier) hashAll(ctx context.Context, s Source, folder string, msgs []Message, bad func(Message, error)) ([]*hashed, error) {
	listed := make(map[string]Message, len(msgs))
	for _, m := range msgs {
		listed[m.ID] = m
	}
	var (
		mu  sync.Mutex // guards out: the handler may, against the contract, run concurrently
		out = make([]*hashed, 0, len(msgs))
	)
	f := fetcher{src: s, retrier: v.retrier, event: v.event,
		fail: func(m Message, err error) { bad(listed[m.ID], err) }}
	handle := func(m Message, body io.Reader) error {
		h, err := hashBody(body)
		if err != nil {
			return err
		}
		// What the listing did not know, the fetch may (POP3 dates).
		h.msg = listed[m.ID]
		if h.msg.Date.IsZero() {
			h.msg.Date = m.Date
		}
		if h.msg.Flags == nil {
			h.msg.Flags = m.Flags
		}
		mu.Lock()
		out = append(out, h)
		mu.Unlock()
		return nil
	}
	for start := 0; start < len(msgs); start += v.opts.ChunkSize {
		chunk := msgs[start:min(start+v.opts.ChunkSize, len(msgs))]
		if err := f.fetch(ctx, folder, chunk, handle); err != nil {
			return nil, fmt.Errorf("folder %q: %w", folder, err)
		}
	}
	return out, nil
}

// hashBody reads a body to its end and returns its content digest with
// the Subject and Message-ID of its header.
func hashBody(body io.Reader) (*hashed, error) {
	d := newBodyDigest()
	if _, err := io.Copy(d, body); err != nil {
		return nil, err
	}
	_, digest, _ := d.sum()
	header := d.header()
	return &hashed{
		digest:    digest,
		messageID: printable(formats.MessageID(header), 200),
		subject:   printable(subject(header), maxSubject),
	}, nil
}

// subject returns the decoded Subject of a header block, or "".
func subject(header []byte) string {
	var value []byte
	in := false
	for _, line := range bytes.Split(header, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if in {
			if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
				value = append(value, line...)
				continue
			}
			break
		}
		if name, rest, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(bytes.TrimSpace(name)), "subject") {
			value = append(value, rest...)
			in = true
		}
	}
	s := strings.TrimSpace(string(value))
	if dec, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		s = dec
	}
	return s
}

// printable replaces control characters and invalid UTF-8, so header text
// cannot disturb a terminal, and shortens s to at most n runes.
func printable(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = '?'
		}
		b.WriteRune(r)
		count++
	}
	return b.String()
}
