package jobs_test

import (
	"fmt"
	"testing"

	"github.com/mailferry/mailferry/internal/jobs"
)

func named(prefix string, n int) []jobs.Job {
	out := make([]jobs.Job, n)
	for i := range out {
		out[i].Name = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func TestShardsRunEveryJobExactlyOnce(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7} {
		all := named("job-", 10)
		seen := map[string]int{}
		for k := range n {
			for _, j := range jobs.InShard(all, k, n) {
				seen[j.Name]++
			}
		}
		for _, j := range all {
			if seen[j.Name] != 1 {
				t.Errorf("N=%d: job %s runs %d times", n, j.Name, seen[j.Name])
			}
		}
	}
}

// The assignment is pinned: a change of hash would move every job of every
// deployment to another shard.
func TestShardAssignmentIsStable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		n, in int
	}{{"alice-backup", 3, 0}, {"bob", 3, 0}, {"carol", 3, 0}, {"carol", 4, 3}} {
		if got := jobs.Shard(tc.name, tc.n); got != tc.in {
			t.Errorf("Shard(%q, %d) = %d, want %d", tc.name, tc.n, got, tc.in)
		}
	}
}

func TestShardsMoveFewJobs(t *testing.T) {
	all := named("user", 1000)
	// Going from 3 to 4 shards moves only jobs into the new shard, about
	// a quarter of them.
	moved := 0
	for _, j := range all {
		before, after := jobs.Shard(j.Name, 3), jobs.Shard(j.Name, 4)
		if before != after {
			moved++
			if after != 3 {
				t.Fatalf("job %s moved from shard %d to %d, not to the new shard", j.Name, before, after)
			}
		}
	}
	if moved < 150 || moved > 350 {
		t.Errorf("%d of 1000 jobs moved from 3 to 4 shards, want about 250", moved)
	}
	// Shards are about even.
	count := make([]int, 4)
	for _, j := range all {
		count[jobs.Shard(j.Name, 4)]++
	}
	for k, c := range count {
		if c < 180 || c > 320 {
			t.Errorf("shard %d of 4 has %d of 1000 jobs", k, c)
		}
	}
}

func TestParseShard(t *testing.T) {
	if k, n, err := jobs.ParseShard("2/3"); k != 2 || n != 3 || err != nil {
		t.Errorf("2/3: %d %d %v", k, n, err)
	}
	for in, want := range map[string]string{
		"3":   `"3" is not K/N (shard K of N, K from 0 to N-1: 0/3, 1/3, 2/3)`,
		"a/3": `"a/3" is not K/N (shard K of N, K from 0 to N-1: 0/3, 1/3, 2/3)`,
		"3/3": `"3/3": K counts from 0 to N-1 (2)`,
		"0/0": `"0/0": N must be from 1 to 10000`,
	} {
		if _, _, err := jobs.ParseShard(in); err == nil || err.Error() != want {
			t.Errorf("ParseShard(%q): %v, want %s", in, err, want)
		}
	}
}
