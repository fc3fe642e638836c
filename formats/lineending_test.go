package formats

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLineEndings(t *testing.T) {
	tests := []struct {
		name, in, lf, crlf string
	}{
		{"empty", "", "", ""},
		{"lf", "a\nb\n", "a\nb\n", "a\r\nb\r\n"},
		{"crlf", "a\r\nb\r\n", "a\nb\n", "a\r\nb\r\n"},
		{"mixed", "a\r\nb\nc", "a\nb\nc", "a\r\nb\r\nc"},
		{"bare cr kept", "a\rb\r", "a\rb\r", "a\rb\r"},
		{"cr cr lf", "a\r\r\n", "a\r\n", "a\r\r\n"},
		{"no final newline", "x\r\ny", "x\ny", "x\r\ny"},
		{"nul bytes", "\x00\n\x00\r\n", "\x00\n\x00\n", "\x00\r\n\x00\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(ToLF([]byte(tt.in))); got != tt.lf {
				t.Errorf("ToLF(%q) = %q, want %q", tt.in, got, tt.lf)
			}
			if got := string(ToCRLF([]byte(tt.in))); got != tt.crlf {
				t.Errorf("ToCRLF(%q) = %q, want %q", tt.in, got, tt.crlf)
			}
			if got := WireSize([]byte(tt.in)); got != int64(len(tt.crlf)) {
				t.Errorf("WireSize(%q) = %d, want %d", tt.in, got, len(tt.crlf))
			}
			for split := 0; split <= len(tt.in); split++ {
				var lf, crlf bytes.Buffer
				lw, cw := NewLFWriter(&lf), NewCRLFWriter(&crlf)
				var wc WireCounter
				for _, part := range []string{tt.in[:split], tt.in[split:]} {
					lw.Write([]byte(part))
					cw.Write([]byte(part))
					wc.Write([]byte(part))
				}
				lw.Close()
				if lf.String() != tt.lf {
					t.Errorf("LFWriter split at %d: %q, want %q", split, lf.String(), tt.lf)
				}
				if crlf.String() != tt.crlf {
					t.Errorf("CRLFWriter split at %d: %q, want %q", split, crlf.String(), tt.crlf)
				}
				if wc.Size() != int64(len(tt.crlf)) {
					t.Errorf("WireCounter split at %d: %d, want %d", split, wc.Size(), len(tt.crlf))
				}
			}
		})
	}
}

// FuzzLineEndings checks the streaming converters against the whole-buffer
// ones for every input and split point, and that a network-form message
// survives network → local → network unchanged.
func FuzzLineEndings(f *testing.F) {
	for _, s := range []string{"", "a\r\nb\n", "\r", "\n\r\n\r\r\n", "From x\r\n\r\n"} {
		f.Add([]byte(s), uint(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		s := int(split % uint(len(in)+1))
		var lf, crlf bytes.Buffer
		lw, cw := NewLFWriter(&lf), NewCRLFWriter(&crlf)
		var wc WireCounter
		for _, part := range [][]byte{in[:s], in[s:]} {
			lw.Write(part)
			cw.Write(part)
			wc.Write(part)
		}
		lw.Close()
		if !bytes.Equal(lf.Bytes(), ToLF(in)) && !(lf.Len() == 0 && len(ToLF(in)) == 0) {
			t.Fatalf("LFWriter(%q) = %q, ToLF = %q", in, lf.Bytes(), ToLF(in))
		}
		if !bytes.Equal(crlf.Bytes(), ToCRLF(in)) && !(crlf.Len() == 0 && len(in) == 0) {
			t.Fatalf("CRLFWriter(%q) = %q, ToCRLF = %q", in, crlf.Bytes(), ToCRLF(in))
		}
		if wc.Size() != WireSize(in) || WireSize(in) != int64(len(ToCRLF(in))) {
			t.Fatalf("sizes disagree for %q: counter %d, WireSize %d, len(ToCRLF) %d", in, wc.Size(), WireSize(in), len(ToCRLF(in)))
		}
		// A bare CR right before a line end (RFC 5322 forbids bare CR) is
		// the one shape LF storage cannot keep apart from a CRLF line end.
		network := ToCRLF(in)
		if bytes.Contains(network, []byte("\r\r\n")) {
			return
		}
		if back := ToCRLF(ToLF(network)); !bytes.Equal(back, network) {
			t.Fatalf("network form %q did not survive local and back: %q", network, back)
		}
	})
}

// TestConvertingReaders: the readers give what ToLF and ToCRLF give, read in
// pieces of any size, CRs at piece ends included.
func TestConvertingReaders(t *testing.T) {
	inputs := []string{"", "a", "\r", "\n", "\r\n", "a\r\nb\nc\r", "x\r\r\n\r\ny\n\n\r", strings.Repeat("line\r\n", 20000) + "\r"}
	for _, in := range inputs {
		for _, piece := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, func(r io.Reader) io.Reader { return r }} {
			got, err := io.ReadAll(NewLFReader(piece(strings.NewReader(in))))
			if err != nil || string(got) != string(ToLF([]byte(in))) {
				t.Errorf("LF reader of %.20q: %.20q, %v; want %.20q", in, got, err, ToLF([]byte(in)))
			}
			got, err = io.ReadAll(NewCRLFReader(piece(strings.NewReader(in))))
			if err != nil || string(got) != string(ToCRLF([]byte(in))) {
				t.Errorf("CRLF reader of %.20q: %.20q, %v; want %.20q", in, got, err, ToCRLF([]byte(in)))
			}
		}
	}
	// A read error is passed on once what was converted before it is read.
	boom := errors.New("boom")
	got, err := io.ReadAll(NewLFReader(io.MultiReader(strings.NewReader("a\r\nb"), iotest.ErrReader(boom))))
	if string(got) != "a\nb" || !errors.Is(err, boom) {
		t.Errorf("after an error: %q, %v", got, err)
	}
}

// TestLFWriterReset: a reset writer converts the next body into its new
// writer as a new one would, keeps no CR held from the last body, and
// allocates nothing once its buffer has grown.
func TestLFWriterReset(t *testing.T) {
	var first, second bytes.Buffer
	lw := NewLFWriter(&first)
	if _, err := lw.Write([]byte("one\r\ntwo\r")); err != nil {
		t.Fatal(err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	lw.Reset(&second)
	for _, p := range []string{"\nthree\r", "\nfour\r\r\n"} {
		if _, err := lw.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := first.String(), "one\ntwo\r"; got != want {
		t.Errorf("first body %q, want %q", got, want)
	}
	if got, want := second.String(), "\nthree\nfour\r\n"; got != want {
		t.Errorf("second body %q, want %q", got, want)
	}
	body := bytes.Repeat([]byte("line\r\n"), 5000)
	allocs := testing.AllocsPerRun(20, func() {
		lw.Reset(io.Discard)
		lw.Write(body)
		lw.Close()
	})
	if allocs != 0 {
		t.Errorf("a reset writer allocated %.0f times a body", allocs)
	}
}
