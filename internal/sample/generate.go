package sample

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

var (
	genFolders = []struct {
		name   string
		weight int
	}{
		{"INBOX", 40}, {"Sent", 15}, {"Archive/2023", 14}, {"Archive/2024", 14},
		{"Lists/golang-nuts", 10}, {"Entwürfe", 4}, {"Trash", 3},
	}
	genFirst = []string{"Ada", "Bruno", "Chiara", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
		"Karin", "Luca", "Maya", "Noah", "Olga", "Pedro", "Qi", "Rosa", "Sven", "Tariq", "Ute", "Vera", "Wen", "Yusuf", "Zoë"}
	genLast = []string{"Lindqvist", "Costa", "Rossi", "Volkov", "Schulz", "Haddad", "Okafor", "Tanaka", "Moreau", "Berg",
		"Nowak", "Bianchi", "Patel", "Kim", "Ivanova", "Alves", "Zhang", "Jiménez", "Larsen", "Aziz", "Müller", "Novák"}
	genDomains = []string{"example.com", "example.org", "example.net", "mail.example", "corp.example", "uni.example"}
	genTopics  = []string{"budget", "release", "meeting", "invoice", "travel plans", "the new server", "backups",
		"quarterly numbers", "lunch", "the contract", "holidays", "migration", "feedback", "the workshop", "tickets"}
	genWords = strings.Fields(`the a and to of in for on with is it that this we you our be are have will can as at
		by from not or but all if about next week mail server message folder copy backup plan date time team
		report draft please thanks update change test run again check before after new old number list note
		question answer today tomorrow soon later agree think need want make sure send read reply forward`)
	genZones = []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", 7200),
		time.FixedZone("", -5*3600), time.FixedZone("", -8*3600), time.FixedZone("", 9*3600),
		time.FixedZone("", 5*3600+1800)}
)

// Generate returns n messages drawn deterministically from seed, whose sizes
// average about avgSize bytes (at least the size of a header). About one in
// ten carries a base64 attachment (those are larger), about a third are
// replies in a thread. Folders are INBOX, Sent, Archive/2023, Archive/2024,
// Lists/golang-nuts, Entwürfe and Trash; dates spread over 2018–2025 in
// several zones; Message-IDs are unique within one call.
func Generate(n int, seed int64, avgSize int) []Message {
	r := rand.New(rand.NewPCG(uint64(seed), 0x73616d706c65))
	total := 0
	for _, f := range genFolders {
		total += f.weight
	}
	base := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	span := int64(8 * 365 * 24 * 3600)
	ids := make([]string, 0, n)
	subjects := make([]string, 0, n)
	msgs := make([]Message, 0, n)
	for i := 0; i < n; i++ {
		w := r.IntN(total)
		folder := genFolders[0].name
		for _, f := range genFolders {
			if w < f.weight {
				folder = f.name
				break
			}
			w -= f.weight
		}
		date := base.Add(time.Duration(r.Int64N(span)) * time.Second).In(genZones[r.IntN(len(genZones))])
		from := person(r)
		to := person(r)
		if folder == "Sent" || folder == "Entwürfe" {
			from = "You <you@example.com>"
		}
		id := fmt.Sprintf("%d.%d.%08x@%s", seed, i, r.Uint32(), genDomains[r.IntN(len(genDomains))])
		subject := "About " + genTopics[r.IntN(len(genTopics))]
		var parent string
		if i > 0 && r.IntN(3) == 0 {
			j := r.IntN(i)
			parent = ids[j]
			subject = "Re: " + strings.TrimPrefix(subjects[j], "Re: ")
		}
		ids = append(ids, id)
		subjects = append(subjects, subject)

		var b bytes.Buffer
		fmt.Fprintf(&b, "Return-Path: <%s>\r\n", addr(from))
		fmt.Fprintf(&b, "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby mail.example.com with ESMTPS id %08X;\r\n\t%s\r\n",
			r.IntN(9), genDomains[r.IntN(len(genDomains))], r.IntN(9), genDomains[r.IntN(len(genDomains))],
			1+r.IntN(254), r.Uint32(), date.Format(time.RFC1123Z))
		fmt.Fprintf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date.Format(time.RFC1123Z), from, to)
		if r.IntN(5) == 0 {
			fmt.Fprintf(&b, "Cc: %s\r\n", person(r))
		}
		fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: <%s>\r\n", subject, id)
		if parent != "" {
			fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", parent, parent)
		}
		if folder == "Lists/golang-nuts" {
			b.WriteString("List-Id: <golang-nuts.googlegroups.example>\r\nPrecedence: list\r\n")
		}
		b.WriteString("MIME-Version: 1.0\r\n")

		attach := r.IntN(10) == 0
		var target float64
		if attach {
			target = float64(avgSize) * 5.5 * r.ExpFloat64()
		} else {
			target = float64(avgSize) * 0.5 * r.ExpFloat64()
		}
		size := int(target) - b.Len()
		if !attach {
			b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
			writeText(&b, r, max(size, 40))
		} else {
			boundary := fmt.Sprintf("b%d_%08x", i, r.Uint32())
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", boundary)
			fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n", boundary)
			writeText(&b, r, 200+r.IntN(600))
			name := fmt.Sprintf("file-%d.bin", i)
			fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: application/octet-stream; name=\"%s\"\r\n", boundary, name)
			fmt.Fprintf(&b, "Content-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", name)
			payload := make([]byte, max(size*3/4-600, 64))
			for k := 0; k < len(payload); k += 8 {
				v := r.Uint64()
				for s := 0; s < 8 && k+s < len(payload); s++ {
					payload[k+s] = byte(v >> (8 * s))
				}
			}
			writeBase64(&b, payload)
			fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
		}
		msgs = append(msgs, Message{Folder: folder, Flags: genFlags(r, folder), Date: date, Body: b.Bytes()})
	}
	return msgs
}

func person(r *rand.Rand) string {
	first := genFirst[r.IntN(len(genFirst))]
	last := genLast[r.IntN(len(genLast))]
	login := strings.ToLower(first)
	if !isASCII(login) {
		login = "user"
	}
	return fmt.Sprintf("%s %s <%s@%s>", first, last, login, genDomains[r.IntN(len(genDomains))])
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func addr(person string) string {
	if i := strings.IndexByte(person, '<'); i >= 0 {
		return strings.TrimSuffix(person[i+1:], ">")
	}
	return person
}

// writeText writes about size bytes of wrapped prose with CRLF lines.
func writeText(b *bytes.Buffer, r *rand.Rand, size int) {
	start, col := b.Len(), 0
	sentence := true
	for b.Len()-start < size {
		w := genWords[r.IntN(len(genWords))]
		if sentence {
			w = strings.ToUpper(w[:1]) + w[1:]
			sentence = false
		}
		if col+len(w) > 72 {
			b.WriteString("\r\n")
			col = 0
			if r.IntN(6) == 0 {
				b.WriteString("\r\n")
			}
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
		if r.IntN(12) == 0 {
			b.WriteByte('.')
			col++
			sentence = true
		}
	}
	b.WriteString("\r\n")
}

func genFlags(r *rand.Rand, folder string) []string {
	var f []string
	switch folder {
	case "Sent":
		f = append(f, `\Seen`)
	case "Entwürfe":
		f = append(f, `\Draft`)
	case "Trash":
		f = append(f, `\Seen`, `\Deleted`)
	default:
		if r.IntN(5) != 0 {
			f = append(f, `\Seen`)
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
		if r.IntN(15) == 0 {
			f = append(f, "Work")
		}
	}
	return f
}
