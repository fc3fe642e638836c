package sample

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// BenchOptions choose a benchmark corpus (BenchMessage).
type BenchOptions struct {
	// Messages is the corpus size, the huge message included.
	Messages int
	// Seed selects the corpus; the same options give the same bytes.
	Seed int64
	// Huge makes one INBOX message (the one in the middle) HugeSize bytes.
	Huge bool
	// Folder, when set, puts every message in that one folder (the
	// scaling runs over a single large folder).
	Folder string
}

// HugeSize is the size of the corpus's one huge message: large enough that
// a client holding a message in memory shows it in its peak RSS.
const HugeSize = 100 << 20

// benchFolders are the benchmark folders and their weights: nested levels,
// non-ASCII names, the special-use folders.
var benchFolders = []struct {
	name   string
	weight int
}{
	{"INBOX", 30}, {"Sent", 12}, {"Archive", 6}, {"Archive/2019", 8}, {"Archive/2020/Q1", 8},
	{"Lists/golang-nuts", 12}, {"Entwürfe", 4}, {"日本語/テスト", 6}, {"Reisen/Übersicht", 6},
	{"Drafts", 2}, {"Trash", 3}, {"Junk", 3},
}

// BenchFolders returns the folders a corpus of o uses, in a fixed order.
func BenchFolders(o BenchOptions) []string {
	if o.Folder != "" {
		return []string{o.Folder}
	}
	out := make([]string, len(benchFolders))
	for i, f := range benchFolders {
		out[i] = f.name
	}
	return out
}

// BenchMessageID returns the Message-ID (without angle brackets) of
// message i, which identifies it in any store it was copied to.
func BenchMessageID(o BenchOptions, i int) string {
	return fmt.Sprintf("bench.%d.%d@corpus.example", o.Seed, i)
}

// BenchMessage returns message i (0 ≤ i < o.Messages) of the benchmark
// corpus. Each message is drawn from its own generator, so messages can be
// made one at a time, in any order and in parallel, and the corpus is never
// held in memory whole (10,000 messages are about 800 MB).
//
// Sizes: nine in ten are plain text of 2–20 KB; one in ten carries a
// base64 attachment and is 50 KB–2 MB (log-uniform, so most are nearer the
// low end); with o.Huge the message in the middle is HugeSize. Dates spread
// over 2006–2025 in several zones; flags are \Seen (most), \Answered,
// \Flagged, \Draft (in Drafts and Entwürfe) and the keywords $Forwarded,
// $Label1 and Work. Bodies have CRLF line endings and some lines start with
// "From " (as prose does), which mbox writers must escape.
func BenchMessage(o BenchOptions, i int) Message {
	r := rand.New(rand.NewPCG(uint64(o.Seed), uint64(i)+0x62656e6368))
	folder := o.Folder
	if folder == "" {
		total := 0
		for _, f := range benchFolders {
			total += f.weight
		}
		w := r.IntN(total)
		for _, f := range benchFolders {
			if w < f.weight {
				folder = f.name
				break
			}
			w -= f.weight
		}
	}
	huge := o.Huge && i == o.Messages/2
	if huge && o.Folder == "" {
		folder = "INBOX"
	}
	base := time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int64(20 * 365 * 24 * 3600)
	// Whole seconds: that is what every store keeps.
	date := base.Add(time.Duration(r.Int64N(span)) * time.Second).In(genZones[r.IntN(len(genZones))])

	var size int
	attach := huge || r.IntN(10) == 0
	switch {
	case huge:
		size = HugeSize
	case attach:
		size = int(50e3 * math.Pow(40, r.Float64()))
	default:
		size = 2000 + r.IntN(18000)
	}

	var b bytes.Buffer
	b.Grow(size + 1024)
	from, to := person(r), person(r)
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", addr(from))
	fmt.Fprintf(&b, "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby mail.example.com with ESMTPS id %08X;\r\n\t%s\r\n",
		r.IntN(9), genDomains[r.IntN(len(genDomains))], r.IntN(9), genDomains[r.IntN(len(genDomains))],
		1+r.IntN(254), r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date.Format(time.RFC1123Z), from, to)
	fmt.Fprintf(&b, "Subject: About %s (%d)\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n",
		genTopics[r.IntN(len(genTopics))], i, BenchMessageID(o, i))
	if !attach {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		writeText(&b, r, max(size-b.Len(), 40))
	} else {
		boundary := fmt.Sprintf("b%d_%08x", i, r.Uint32())
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary)
		writeText(&b, r, 200+r.IntN(600))
		name := fmt.Sprintf("file-%d.bin", i)
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: application/octet-stream; name=\"%s\"\r\n", boundary, name)
		fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", name)
		// base64 with CRLF every 76 characters: 78 bytes per 57 of payload.
		payload := make([]byte, max((size-b.Len()-64)*57/78, 64))
		for k := 0; k < len(payload); k += 8 {
			v := r.Uint64()
			for s := 0; s < 8 && k+s < len(payload); s++ {
				payload[k+s] = byte(v >> (8 * s))
			}
		}
		writeBase64(&b, payload)
		fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	}
	return Message{Folder: folder, Flags: benchFlags(r, folder), Date: date, Body: b.Bytes()}
}

func benchFlags(r *rand.Rand, folder string) []string {
	var f []string
	switch folder {
	case "Sent":
		f = append(f, `\Seen`)
	case "Drafts", "Entwürfe":
		f = append(f, `\Draft`)
	default:
		if r.IntN(4) != 0 {
			f = append(f, `\Seen`)
		}
	}
	if r.IntN(7) == 0 {
		f = append(f, `\Answered`)
	}
	if r.IntN(20) == 0 {
		f = append(f, `\Flagged`)
	}
	if r.IntN(30) == 0 {
		f = append(f, "$Forwarded")
	}
	if r.IntN(25) == 0 {
		f = append(f, "$Label1")
	}
	if r.IntN(15) == 0 {
		f = append(f, "Work")
	}
	return f
}
