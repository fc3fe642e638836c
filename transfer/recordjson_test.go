package transfer

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// recordLines are lines as a Journal writes them, and variations of them
// that readRecord leaves to encoding/json.
func recordLines(t testing.TB) [][]byte {
	at := time.Date(2026, 12, 2, 2, 0, 47, 245066450, time.UTC)
	recs := []Record{
		{Source: "imaps://src@127.0.0.1:35741", Folder: "Lists/golang-nuts", ID: "1796176749.4", Key: "kc2657ff8365d1e334bcf31cc",
			Digest: "d695b8d9b547a257047c5ae77f032fac1", Dest: "Lists/golang-nuts", Time: at, Flags: []string{"$Forwarded", `\Answered`, `\Seen`}, Copied: true},
		{Source: "maildir:/home/a/Mail", Folder: "Entwürfe & Co <alt>", ID: "1700000000.M1P2.host,U=3:2,S", Dest: "日本語/テスト", Time: at.In(time.FixedZone("", 3600)),
			Flags: []string{}, Deleted: true, CopyDeleted: true, Fingerprint: "fp1"},
		{Source: "mbox:/a \"quoted\"\\path\t", Folder: "INBOX", ID: "7", Dest: "INBOX", Flags: nil},
		{Source: "imap:x", Folder: "Trash", Dest: "Trash", Time: at, State: "imap:1796176754:286:285:337", Count: 285},
		{Source: "s", Folder: "f\u2028\u2029\x01", ID: "i", Dest: "d", Count: 123456789012345678},
	}
	var lines [][]byte
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
	}
	return append(lines,
		[]byte(`{"source":"s","folder":"f","id":"1","dest":"d","time":"2026-12-02T02:00:47Z","flags":null}`),
		[]byte(`{"id":"1", "source":"s"}`),       // a space
		[]byte(`{"ID":"1","Source":"s"}`),        // names in other cases
		[]byte(`{"id":"1","id":"2"}`),            // a name twice
		[]byte(`{"id":"1","extra":{"a":[1,2]}}`), // an unknown field
		[]byte(`{"id":null,"source":"s"}`),       // a null string
		[]byte(`{"id":"1","n":1e2}`),             // a number readRecord does not take
		[]byte(`{"id":"1","n":-3}`),              // nor this one
		[]byte(`{"id":"\ud83d\ude00"}`),          // a surrogate pair
		[]byte("{\"id\":\"\xff\"}"),              // invalid UTF-8
		[]byte(`{"id":"1","time":"yesterday"}`),  // a bad time
		[]byte(`{"id":"1"}{"id":"2"}`),           // two values
		[]byte(`{"id":"1",}`),                    // a trailing comma
		[]byte(`{"id":"1","flags":["a",null]}`),  // a null flag
		[]byte(`{"id":"1","deleted":"yes"}`),     // not a bool
		[]byte(`{}`),
	)
}

// decodeRecord gives encoding/json's result for every line: the same
// Record, or an error where json.Unmarshal fails.
func TestDecodeRecordIsJSONs(t *testing.T) {
	fast := 0
	for _, line := range recordLines(t) {
		var want Record
		wantErr := json.Unmarshal(line, &want)
		var got Record
		err := decodeRecord(line, &got)
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %+v, %v\nwant %+v, %v", line, got, err, want, wantErr)
		}
		var r Record
		if readRecord(line, &r) {
			fast++
		}
	}
	// The lines a Journal writes, and the null flags, are read by hand.
	if fast != 7 {
		t.Errorf("readRecord took %d of the lines, want 7", fast)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, line := range recordLines(f) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var got Record
		if !readRecord(line, &got) {
			return
		}
		var want Record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("readRecord took %q, which encoding/json refuses: %v", line, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\nreadRecord    %+v\nencoding/json %+v", line, got, want)
		}
	})
}

func BenchmarkDecodeRecord(b *testing.B) {
	line, err := json.Marshal(Record{Source: "imaps://src@127.0.0.1:35741", Folder: "Lists/golang-nuts", ID: "1796176749.4",
		Key: "kc2657ff8365d1e334bcf31cc", Digest: "d695b8d9b547a257047c5ae77f032fac1", Dest: "Lists/golang-nuts",
		Time: time.Now().UTC(), Flags: []string{"$Forwarded", `\Answered`, `\Seen`}, Copied: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte, *Record) error
	}{{"readRecord", decodeRecord}, {"encoding-json", func(l []byte, r *Record) error { return json.Unmarshal(l, r) }}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				var r Record
				if err := bc.decode(line, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
