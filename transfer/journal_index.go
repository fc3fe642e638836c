package transfer

import (
	"encoding/binary"
	"encoding/hex"
	"time"
)

// journalIndex is what a Journal knows of the messages its records name,
// in memory: the one part of a run that grows with the mailbox (a record
// per message ever copied), so each message costs as few bytes as a
// record can be given back from exactly. A message is a map entry (its ID,
// the key) of 48 bytes: the identity key and content digest as the bytes
// their hex spells, the time in Unix seconds, and the destination and flag
// set as numbers of tables shared by every message (most messages of a
// mailbox share a handful of flag sets and one destination).
type journalIndex struct {
	folders map[folderKey]map[string]indexed // by source folder, then by ID
	count   int                              // messages in folders
	// names holds every source, folder and destination name, and any
	// key or digest not in its usual form, once; nameNo numbers them.
	names  []string
	nameNo map[string]uint32
	// flagSets holds every distinct Record.Flags once; number 0 is nil,
	// the flags of a record written before records kept them.
	flagSets  [][]string
	flagSetNo map[string]uint32
	flagBuf   []byte // scratch for flagSetNo's keys
}

type folderKey struct{ source, folder string }

// indexed is one message in the index: a Record less what its place in the
// index says (source, folder, ID) and what only folder records carry.
type indexed struct {
	time                int64    // Record.Time, Unix seconds
	key                 [12]byte // Record.Key, in keyForm
	digest              [16]byte // Record.Digest, in digestForm
	dest                uint32   // Record.Dest, by number in names
	flags               uint32   // Record.Flags, by number in flagSets
	keyForm, digestForm textForm
	marks               uint8 // markDeleted | markCopied | markCopyDeleted
}

const (
	markDeleted = 1 << iota
	markCopied
	markCopyDeleted
)

// textForm says how indexed holds a key or a digest.
type textForm uint8

const (
	textEmpty textForm = iota // ""
	textHex                   // the usual form: a prefix letter and the lower-case hex of the bytes held
	textNamed                 // any other text: the first four bytes number it in names
)

// Prefixes of formats.IdentityKey and formats.ContentDigest.
const (
	keyPrefix    = 'k'
	digestPrefix = 'd'
)

func newJournalIndex() *journalIndex {
	return &journalIndex{
		folders:   make(map[folderKey]map[string]indexed),
		nameNo:    make(map[string]uint32),
		flagSets:  [][]string{nil},
		flagSetNo: make(map[string]uint32),
	}
}

// name returns the number of s in names, adding it when new.
func (x *journalIndex) name(s string) uint32 {
	if n, ok := x.nameNo[s]; ok {
		return n
	}
	n := uint32(len(x.names))
	x.names = append(x.names, s)
	x.nameNo[s] = n
	return n
}

// sharedName returns the index's copy of s, so that records loaded from
// the file do not each bring their own copy of a folder name.
func (x *journalIndex) sharedName(s string) string { return x.names[x.name(s)] }

// flagSet returns the number of flags in flagSets, adding it when new. The
// set is kept as given (order and spelling), so a record reads back exactly.
func (x *journalIndex) flagSet(flags []string) uint32 {
	if flags == nil {
		return 0
	}
	// Each flag followed by a NUL, which no flag contains: an empty set
	// and a set of one empty flag differ.
	b := x.flagBuf[:0]
	for _, f := range flags {
		b = append(b, f...)
		b = append(b, 0)
	}
	x.flagBuf = b
	if n, ok := x.flagSetNo[string(b)]; ok {
		return n
	}
	n := uint32(len(x.flagSets))
	x.flagSets = append(x.flagSets, append(make([]string, 0, len(flags)), flags...))
	x.flagSetNo[string(b)] = n
	return n
}

// packText stores s, a key or a digest, in dst: in the usual form (prefix
// and len(dst) bytes in lower-case hex) as those bytes, any other text by
// its number in names. Either way textOf gives back s exactly, which the
// plan relies on: keys are compared with the destination's, digests with
// the copies' (a hash of the text would not do).
func (x *journalIndex) packText(dst []byte, prefix byte, s string) textForm {
	switch {
	case s == "":
		return textEmpty
	case len(s) == 1+2*len(dst) && s[0] == prefix && lowerHex(s[1:]):
		hex.Decode(dst, []byte(s[1:]))
		return textHex
	default:
		binary.LittleEndian.PutUint32(dst, x.name(s))
		return textNamed
	}
}

// textOf is the text packText stored in src.
func (x *journalIndex) textOf(src []byte, prefix byte, form textForm) string {
	switch form {
	case textHex:
		b := make([]byte, 1+2*len(src))
		b[0] = prefix
		hex.Encode(b[1:], src)
		return string(b)
	case textNamed:
		return x.names[binary.LittleEndian.Uint32(src)]
	}
	return ""
}

// lowerHex reports whether s is made of lower-case hex digits only: the
// form hex.Encode writes, so that decoding and encoding again gives s.
func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// add indexes one message record. The first record of a message keeps its
// time (first seen); later ones can mark it deleted, add the key and
// digest an earlier record lacked (a copy confirmed by content later) and
// replace its flags.
func (x *journalIndex) add(f folderKey, rec Record) {
	msgs := x.folders[f]
	if msgs == nil {
		msgs = make(map[string]indexed)
		x.folders[f] = msgs
	}
	e, ok := msgs[rec.ID]
	if !ok {
		e = indexed{time: rec.Time.Unix(), dest: x.name(rec.Dest), flags: x.flagSet(rec.Flags)}
		x.count++
	} else if rec.Flags != nil {
		e.flags = x.flagSet(rec.Flags)
	}
	if e.keyForm == textEmpty {
		e.keyForm = x.packText(e.key[:], keyPrefix, rec.Key)
	}
	if e.digestForm == textEmpty {
		e.digestForm = x.packText(e.digest[:], digestPrefix, rec.Digest)
	}
	if rec.Deleted {
		e.marks |= markDeleted
	}
	if rec.Copied {
		e.marks |= markCopied
	}
	if rec.CopyDeleted {
		e.marks |= markCopyDeleted
	}
	msgs[rec.ID] = e
}

// record is the Record the index keeps for message id of folder f. Its
// Flags are shared with other records: callers do not modify them.
func (x *journalIndex) record(f folderKey, id string, e indexed) Record {
	return Record{Source: f.source, Folder: f.folder, ID: id,
		Key:    x.textOf(e.key[:], keyPrefix, e.keyForm),
		Digest: x.textOf(e.digest[:], digestPrefix, e.digestForm),
		Dest:   x.names[e.dest], Time: time.Unix(e.time, 0).UTC(), Flags: x.flagSets[e.flags],
		Deleted: e.marks&markDeleted != 0, Copied: e.marks&markCopied != 0, CopyDeleted: e.marks&markCopyDeleted != 0}
}
