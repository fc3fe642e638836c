package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mailferry/mailferry/formats"
)

func spoolBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Message-ID: <spool@example.org>\nSubject: big\n\n")
	for b.Len() < n {
		b.WriteString("line of text\n")
	}
	return b.Bytes()[:n]
}

// bodyLimit is memory for spools that only the size of each body limits.
func bodyLimit(n int64) *spoolMemory { return newSpoolMemory(1<<40, n) }

func TestSpool(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		hint    int64
		limit   int64
		spilled bool
	}{
		{"small in memory", 100, 100, 1024, false},
		{"exactly the limit", 1024, 1024, 1024, false},
		{"one above the limit", 1025, 1025, 1024, true},
		{"large, no hint", 50000, 0, 1024, true},
		{"wrong hint", 3000, 10, 4096, false},
		{"hint above the limit", 50000, 50000, 1024, true},
		{"hint above the limit, body below it", 100, 5000, 1024, true},
		{"empty", 0, 0, 1024, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := spoolBody(tc.size)
			// One byte at a time shakes out buffer handling.
			sp, err := newSpool(iotest.OneByteReader(bytes.NewReader(body)), tc.hint, bodyLimit(tc.limit), dir)
			if err != nil {
				t.Fatal(err)
			}
			files, _ := os.ReadDir(dir)
			if got := len(files) == 1; got != tc.spilled {
				t.Fatalf("spilled = %v, want %v", got, tc.spilled)
			}
			if !tc.spilled && len(files) != 0 {
				t.Fatalf("files: %v", files)
			}
			if sp.size != int64(len(body)) {
				t.Fatalf("size %d, want %d", sp.size, len(body))
			}
			for range 2 { // re-readable from the start
				got, err := io.ReadAll(BodyReader(sp))
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("read back %d bytes, err %v", len(got), err)
				}
			}
			if sp.key() != formats.IdentityKey(body) || sp.contentDigest() != formats.ContentDigest(body) {
				t.Fatal("key or digest differ from those of formats for the whole body")
			}
			if err := sp.close(); err != nil {
				t.Fatal(err)
			}
			if files, _ := os.ReadDir(dir); len(files) != 0 {
				t.Fatalf("spool file left behind: %v", files)
			}
		})
	}
}

// TestSpoolLargeHintSpillsWithoutGrowing: a body the source says is larger
// than the memory limit goes to the file without a buffer grown up to the
// limit first (which allocated about twice the limit per message).
func TestSpoolLargeHintSpillsWithoutGrowing(t *testing.T) {
	const limit = 1 << 20
	body := spoolBody(4 << 20)
	dir := t.TempDir()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sp, err := newSpool(bytes.NewReader(body), int64(len(body)), bodyLimit(limit), dir)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close()
	if sp.file == nil {
		t.Fatal("not spilled")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > limit/2 {
		t.Errorf("spooling a 4 MiB body with its size known allocated %d bytes, want under %d", got, limit/2)
	}
	if got, err := io.ReadAll(BodyReader(sp)); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes, err %v", len(got), err)
	}
}

// TestSpoolBuffersReused: a closed spool's buffer serves the next one,
// which reads back its own bytes only; the closed spool keeps its subject
// and key.
func TestSpoolBuffersReused(t *testing.T) {
	first := []byte("Subject: first\nMessage-ID: <1@x>\n\n" + strings.Repeat("a", 20000))
	second := []byte("Subject: second\n\n" + strings.Repeat("b", 500))
	sp1, err := newSpool(bytes.NewReader(first), int64(len(first)), bodyLimit(1<<20), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key1 := sp1.key()
	sp1.close()
	var reused bool
	for range 20 { // sync.Pool may drop a buffer; one reuse in 20 tries is plenty
		sp2, err := newSpool(bytes.NewReader(second), int64(len(second)), bodyLimit(1<<20), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		reused = reused || sp2.pooled != nil && cap(*sp2.pooled) >= len(first)
		got, err := io.ReadAll(BodyReader(sp2))
		if err != nil || !bytes.Equal(got, second) || sp2.size != int64(len(second)) {
			t.Fatalf("second spool reads %q (%v)", got, err)
		}
		if sp1.subject() != "first" || sp1.key() != key1 {
			t.Fatalf("closed spool's subject %q, key %q changed (was %q)", sp1.subject(), sp1.key(), key1)
		}
		sp2.close()
	}
	if !reused {
		t.Error("no spool buffer was reused")
	}
}

func TestSpoolSourceErrorRemovesFile(t *testing.T) {
	dir := t.TempDir()
	cut := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(spoolBody(5000)), iotest.ErrReader(TemporaryError(cut)))
	_, err := newSpool(r, 0, bodyLimit(1024), dir)
	if !errors.Is(err, cut) || ClassOf(err) != Temporary {
		t.Fatalf("err = %v (class %v), want the source's temporary error", err, ClassOf(err))
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("spool file left behind: %v", files)
	}
}

func TestSpoolUnwritableDirIsFatal(t *testing.T) {
	_, err := newSpool(bytes.NewReader(spoolBody(5000)), 0, bodyLimit(1024), "/nonexistent/spool/dir")
	var se *errSpool
	if !errors.As(err, &se) || ClassOf(err) != Fatal {
		t.Fatalf("err = %v", err)
	}
}

func TestSpoolHeaderLongerThanMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines int
		limit int64
	}{
		{"header of 3 KiB, limit 100 bytes", 100, 100},
		{"header of 300 KiB (above the keep limit)", 10000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			for i := range tc.lines {
				fmt.Fprintf(&b, "Received: from host%d by relay (hop %d)\r\n", i, i)
			}
			b.WriteString("Message-ID: <late@example.org>\r\n\r\n")
			b.WriteString(strings.Repeat("body\r\n", 1000))
			body := b.Bytes()
			sp, err := newSpool(iotest.HalfReader(bytes.NewReader(body)), 0, bodyLimit(tc.limit), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer sp.close()
			if sp.file == nil {
				t.Fatal("not spilled")
			}
			if got, want := sp.key(), formats.IdentityKey(body[:min(len(body), maxHeaderKeep)]); got != want {
				t.Fatal("key of a spilled message differs from formats.IdentityKey")
			}
			if sp.contentDigest() != formats.ContentDigest(body) {
				t.Fatal("digest of a spilled message differ from those of formats")
			}
			if len(sp.header) > maxHeaderKeep {
				t.Fatalf("kept %d header bytes", len(sp.header))
			}
		})
	}
}

func TestHeaderDone(t *testing.T) {
	for in, want := range map[string]bool{
		"":                   false,
		"\n":                 true,
		"\r\n":               true,
		"A: b\n":             false,
		"A: b\n\n":           true,
		"A: b\r\n\r\n":       true,
		"A: b\r\n\r\nbody":   true,
		"A: b\r\nC: d\r\n":   false,
		"A: b\r\nC: d\r\n\r": false,
	} {
		if got := headerDone([]byte(in)); got != want {
			t.Errorf("headerDone(%q) = %v", in, got)
		}
	}
}

// The spools share one bound: a body that does not fit in what the others
// hold spills (from the start, or when its buffer cannot grow), and every
// byte taken is given back by close or by newSpool itself.
func TestSpoolMemoryIsShared(t *testing.T) {
	dir := t.TempDir()
	mem := newSpoolMemory(100_000, 64_000)
	spilled := func(sp *spool) bool { return sp.file != nil }
	read := func(n int, hint int64) *spool {
		t.Helper()
		body := spoolBody(n)
		sp, err := newSpool(bytes.NewReader(body), hint, mem, dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(BodyReader(sp)); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read back %d of %d bytes (%v)", len(got), n, err)
		}
		return sp
	}
	a := read(60_000, 60_000)
	if spilled(a) || mem.used.Load() != 60_001 {
		t.Fatalf("first body: spilled %v, memory used %d", spilled(a), mem.used.Load())
	}
	b := read(60_000, 60_000) // does not fit beside a
	if !spilled(b) || mem.used.Load() != 60_001 {
		t.Fatalf("second body: spilled %v, memory used %d; want a spill and a's memory alone", spilled(b), mem.used.Load())
	}
	c := read(50_000, 0) // starts in 32 KiB, cannot grow beside a
	if !spilled(c) || mem.used.Load() != 60_001 {
		t.Fatalf("body without a size: spilled %v, memory used %d", spilled(c), mem.used.Load())
	}
	for _, sp := range []*spool{a, b, c} {
		sp.close()
	}
	if got := mem.used.Load(); got != 0 {
		t.Fatalf("%d bytes still taken after every spool was closed", got)
	}
	d := read(60_000, 60_000) // fits again
	if spilled(d) {
		t.Fatal("a body that fits once the others are closed was spilled")
	}
	d.close()
	cut := errors.New("connection reset")
	if _, err := newSpool(io.MultiReader(bytes.NewReader(spoolBody(5000)), iotest.ErrReader(cut)), 9000, mem, dir); !errors.Is(err, cut) {
		t.Fatalf("err = %v", err)
	}
	if got := mem.used.Load(); got != 0 {
		t.Fatalf("a failed read left %d bytes taken", got)
	}
}

// TestSpoolWaitsForMemory: a body that does not fit beside the others
// waits for memory a closing spool gives back, and stays in memory; with
// nothing given back it spills once the wait is over.
func TestSpoolWaitsForMemory(t *testing.T) {
	dir := t.TempDir()
	mem := newSpoolMemory(100_000, 64_000)
	mem.wait = 10 * time.Second
	body := spoolBody(60_000)
	a, err := newSpool(bytes.NewReader(body), int64(len(body)), mem, dir)
	if err != nil {
		t.Fatal(err)
	}
	closed := time.AfterFunc(50*time.Millisecond, func() { a.close() })
	defer closed.Stop()
	start := time.Now()
	b, err := newSpool(bytes.NewReader(body), int64(len(body)), mem, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b.file != nil {
		t.Fatal("the second body spilled although the first one's memory was given back during its wait")
	}
	if waited := time.Since(start); waited < 40*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for memory given back after 50ms", waited)
	}
	mem.wait = 30 * time.Millisecond
	start = time.Now()
	c, err := newSpool(bytes.NewReader(body), int64(len(body)), mem, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.file == nil {
		t.Fatal("a body that never fit beside the second one stayed in memory")
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("spilled after %v, before the wait of 30ms was over", waited)
	}
	if got, err := io.ReadAll(BodyReader(c)); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("spilled body reads back %d bytes (%v)", len(got), err)
	}
	b.close()
	c.close()
	if used := mem.used.Load(); used != 0 {
		t.Errorf("%d bytes still taken", used)
	}
}
