package jobs

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Shard returns which of n shards (0 to n-1) runs the job named name, by
// rendezvous hashing: each shard scores the name, and the highest score
// wins. The answer depends only on the name and n, so adding or removing
// a job moves no other job, and going from n to n+1 shards moves only the
// jobs the new shard wins (about 1 in n+1). The hash is SHA-256, the same
// on every machine and in every version.
func Shard(name string, n int) int {
	best, bestScore := 0, uint64(0)
	for k := range n {
		h := sha256.Sum256([]byte(strconv.Itoa(k) + "\x00" + name))
		if s := binary.BigEndian.Uint64(h[:8]); k == 0 || s > bestScore {
			best, bestScore = k, s
		}
	}
	return best
}

// InShard returns the jobs that shard k of n runs, in their order.
func InShard(all []Job, k, n int) []Job {
	var out []Job
	for _, j := range all {
		if Shard(j.Name, n) == k {
			out = append(out, j)
		}
	}
	return out
}

// ParseShard reads K/N: shard K (counted from 0, as Kubernetes counts
// JOB_COMPLETION_INDEX) of N.
func ParseShard(s string) (k, n int, err error) {
	ks, ns, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not K/N (shard K of N, K from 0 to N-1: 0/3, 1/3, 2/3)", s)
	}
	k, kerr := strconv.Atoi(ks)
	n, nerr := strconv.Atoi(ns)
	switch {
	case kerr != nil || nerr != nil:
		return 0, 0, fmt.Errorf("%q is not K/N (shard K of N, K from 0 to N-1: 0/3, 1/3, 2/3)", s)
	case n < 1 || n > 10000:
		return 0, 0, fmt.Errorf("%q: N must be from 1 to 10000", s)
	case k < 0 || k >= n:
		return 0, 0, fmt.Errorf("%q: K counts from 0 to N-1 (%d)", s, n-1)
	}
	return k, n, nil
}
