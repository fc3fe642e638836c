package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mailferry/mailferry/transfer"
)

// jobValues parses Prometheus text with the Prometheus parser and returns
// each family's values by the value of label (the job), "" for a series
// without it.
func jobValues(t *testing.T, text, label string) map[string]map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not the Prometheus text format: %v\n%s", err, text)
	}
	out := make(map[string]map[string]float64)
	for name, mf := range fams {
		out[name] = make(map[string]float64)
		for _, m := range mf.GetMetric() {
			job, _ := labelValue(m, label)
			if _, dup := out[name][job]; dup && strings.HasPrefix(name, "mailferry_") {
				t.Errorf("%s: two series for job %q", name, job)
			}
			out[name][job] = metricValue(m)
		}
	}
	return out
}

func metricsFileValues(t *testing.T, path string) map[string]map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return jobValues(t, string(b), jobLabel)
}

// expectJob checks the values of one job; want maps metric names to values.
func expectJob(t *testing.T, got map[string]map[string]float64, job string, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		series, ok := got[name][job]
		if !ok {
			t.Errorf("no %s series for job %q (have %v)", name, job, got[name])
			continue
		}
		if series != v {
			t.Errorf("%s{job=%q} = %v, want %v", name, job, series, v)
		}
	}
}

// One file holds a series per job; a job's run replaces its own series
// and keeps the others'; a failed run keeps its job's last success.
func TestMetricsFileMergesJobs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mailferry.prom")
	t0 := time.Unix(1700000000, 500_000_000)
	write := func(m runMetrics) {
		t.Helper()
		if err := writeMetricsFile(path, m); err != nil {
			t.Fatal(err)
		}
	}
	write(runMetrics{Job: "alice", Summary: transfer.Summary{Copied: 12, Skipped: 3, Filtered: 2, Failed: 1, Bytes: 4096, Seconds: 1.25}, End: t0})
	write(runMetrics{Job: "bob", Summary: transfer.Summary{Copied: 7}, ExitCode: exitFailed, End: t0.Add(time.Minute)})
	got := metricsFileValues(t, path)
	expectJob(t, got, "alice", map[string]float64{
		"mailferry_messages_copied": 12, "mailferry_messages_skipped": 3, "mailferry_messages_filtered": 2,
		"mailferry_messages_failed": 1, "mailferry_bytes_copied": 4096, "mailferry_duration_seconds": 1.25,
		"mailferry_exit_code": 0, lastSuccessMetric: 1700000000.5, "mailferry_last_run_timestamp_seconds": 1700000000.5,
	})
	expectJob(t, got, "bob", map[string]float64{"mailferry_messages_copied": 7, "mailferry_exit_code": 1, lastSuccessMetric: 0})

	// alice fails an hour later: her last success stays, bob is untouched.
	write(runMetrics{Job: "alice", ExitCode: exitPartial, End: t0.Add(time.Hour)})
	got = metricsFileValues(t, path)
	expectJob(t, got, "alice", map[string]float64{"mailferry_messages_copied": 0, "mailferry_exit_code": 3,
		lastSuccessMetric: 1700000000.5, "mailferry_last_run_timestamp_seconds": 1700003600.5})
	expectJob(t, got, "bob", map[string]float64{"mailferry_messages_copied": 7, "mailferry_exit_code": 1})
	if n := len(got["mailferry_exit_code"]); n != 2 {
		t.Errorf("%d exit code series, want one per job: %v", n, got["mailferry_exit_code"])
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "# TYPE mailferry_messages_filtered gauge\n") {
		t.Errorf("no TYPE line for the filtered gauge:\n%s", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "mailferry.prom" && e.Name() != "mailferry.prom.lock" {
			t.Errorf("left behind in the textfile directory: %s", e.Name())
		}
	}
}

// Another run's write between two jobs of this process is not lost: the
// file it renamed into place is read again, not what this process wrote
// before it.
func TestMetricsFileReplacedByAnotherRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mailferry.prom")
	end := time.Unix(1700000000, 0)
	if err := writeMetricsFile(path, runMetrics{Job: "alice", Summary: transfer.Summary{Copied: 1}, End: end}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.prom")
	if err := writeMetricsFile(other, runMetrics{Job: "carol", Summary: transfer.Summary{Copied: 5}, End: end}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if err := writeMetricsFile(path, runMetrics{Job: "bob", Summary: transfer.Summary{Copied: 2}, End: end}); err != nil {
		t.Fatal(err)
	}
	got := metricsFileValues(t, path)
	expectJob(t, got, "carol", map[string]float64{"mailferry_messages_copied": 5})
	expectJob(t, got, "bob", map[string]float64{"mailferry_messages_copied": 2})
	if n := len(got["mailferry_messages_copied"]); n != 2 {
		t.Errorf("%d series, want carol's and bob's (alice's went with the replaced file): %v", n, got["mailferry_messages_copied"])
	}
}

// A file written before series had a job label gives its last success to
// the job that replaces it, and its unlabelled series go.
func TestMetricsFileFromUnlabelledVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailferry.prom")
	old := "# HELP mailferry_exit_code Exit code.\n# TYPE mailferry_exit_code gauge\nmailferry_exit_code 0\n" +
		"# HELP mailferry_last_success_timestamp_seconds t\n# TYPE mailferry_last_success_timestamp_seconds gauge\nmailferry_last_success_timestamp_seconds 1.6e+09\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMetricsFile(path, runMetrics{Job: "alice", ExitCode: exitFailed, End: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	got := metricsFileValues(t, path)
	expectJob(t, got, "alice", map[string]float64{lastSuccessMetric: 1.6e9, "mailferry_exit_code": 1})
	if _, ok := got["mailferry_exit_code"][""]; ok {
		t.Errorf("the unlabelled series is still there: %v", got["mailferry_exit_code"])
	}
	// A file that is not in the text format is replaced.
	if err := os.WriteFile(path, []byte("not metrics {{{\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeMetricsFile(path, runMetrics{Job: "bob", End: time.Unix(1700000000, 0)}); err != nil {
		t.Fatal(err)
	}
	expectJob(t, metricsFileValues(t, path), "bob", map[string]float64{"mailferry_exit_code": 0, lastSuccessMetric: 1.7e9})
}

// Jobs finishing at once in one process, as a run of several jobs
// finishes them, all end up in the file.
func TestMetricsFileConcurrentJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mailferry.prom")
	errs := make(chan error)
	for i := range 8 {
		go func() {
			errs <- writeMetricsFile(path, runMetrics{Job: fmt.Sprintf("job-%d", i), Summary: transfer.Summary{Copied: i}, End: time.Now()})
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := metricsFileValues(t, path)
	for i := range 8 {
		expectJob(t, got, fmt.Sprintf("job-%d", i), map[string]float64{"mailferry_messages_copied": float64(i)})
	}
}

// The binary's --metrics-file: the job label (--job-name, or SOURCE →
// DEST), the filtered count of --max-size, the exit code of a failed run
// and the last success it keeps.
func TestMetricsFileOfCopy(t *testing.T) {
	src, msgs := smallMaildir(t)
	prom := filepath.Join(t.TempDir(), "mailferry.prom")
	dst := filepath.Join(t.TempDir(), "dst")
	// The five INBOX messages are 300 bytes, the others 500 and 200.
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "-q", "--metrics-file", prom, "--max-size", "400", "--job-name", "alice-backup")
	expectCode(t, r, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("-q printed something:\n%s", r)
	}
	got := metricsFileValues(t, prom)
	expectJob(t, got, "alice-backup", map[string]float64{
		"mailferry_messages_copied": float64(len(msgs) - 3), "mailferry_messages_filtered": 3,
		"mailferry_messages_skipped": 0, "mailferry_messages_failed": 0, "mailferry_exit_code": 0,
	})
	success := got[lastSuccessMetric]["alice-backup"]
	if time.Since(time.Unix(int64(success), 0)) > time.Minute {
		t.Errorf("last success %v is not now", success)
	}

	// The same copy again, without --job-name: a second job in the file.
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dst, "--json", "--metrics-file", prom, "--max-size", "400")
	expectCode(t, r, 0)
	if s := lastSummary(t, r.stdout); s.Skipped != len(msgs)-3 || s.Filtered != 3 || s.Copied != 0 {
		t.Errorf("re-run summary %+v, want %d skipped and 3 filtered", s, len(msgs)-3)
	}
	derived := "maildir:" + src + " → maildir:" + dst
	got = metricsFileValues(t, prom)
	expectJob(t, got, derived, map[string]float64{"mailferry_messages_skipped": float64(len(msgs) - 3), "mailferry_messages_filtered": 3})
	expectJob(t, got, "alice-backup", map[string]float64{"mailferry_messages_copied": float64(len(msgs) - 3), lastSuccessMetric: success})

	// A failed run of alice-backup records its exit code and keeps its
	// last success.
	r = mailferry(t, nil, "copy", "maildir:"+filepath.Join(src, "missing"), "maildir:"+dst, "-q", "--metrics-file", prom, "--job-name", "alice-backup")
	expectCode(t, r, exitUsage)
	got = metricsFileValues(t, prom)
	expectJob(t, got, "alice-backup", map[string]float64{"mailferry_exit_code": exitUsage, lastSuccessMetric: success, "mailferry_messages_copied": 0})
	expectJob(t, got, derived, map[string]float64{"mailferry_exit_code": 0})
}

// A metrics file that cannot be written does not make a good copy a data
// failure: exit code 4, with the reason on stderr.
func TestMetricsFileUnwritable(t *testing.T) {
	src, _ := smallMaildir(t)
	prom := filepath.Join(t.TempDir(), "no-such-dir", "mailferry.prom")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "dst"), "-q", "--metrics-file", prom)
	expectCode(t, r, exitMonitoring)
	if !strings.Contains(r.stderr, "--metrics-file "+prom+": directory") || !strings.Contains(r.stderr, "the copy itself succeeded (exit code 4)") {
		t.Errorf("stderr does not say what happened:\n%s", r)
	}
}

// pushgateway is a prometheus-pushgateway process on 127.0.0.1 with its
// own storage.
type pushgateway struct {
	url string
}

func startPushgateway(t *testing.T) pushgateway {
	t.Helper()
	bin, err := exec.LookPath("prometheus-pushgateway")
	if err != nil {
		t.Fatalf("prometheus-pushgateway is not installed (.ci/run installs the Debian package): %v", err)
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--web.listen-address=127.0.0.1:"+port, "--persistence.file="+filepath.Join(dir, "pushgateway.data"))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	g := pushgateway{url: "http://127.0.0.1:" + port}
	for i := 0; ; i++ {
		resp, err := http.Get(g.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if i == 100 {
			t.Fatalf("the pushgateway did not get ready in 10 s: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort is a loopback port nothing listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// metrics reads the gateway's /metrics: the pushed series by their job.
func (g pushgateway) metrics(t *testing.T) map[string]map[string]float64 {
	t.Helper()
	resp, err := http.Get(g.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return jobValues(t, string(b), "job")
}

// The run's metrics reach a real Pushgateway, one group per job; a failed
// run keeps its job's last success there; an unreachable gateway is exit
// code 4, not a failed copy.
func TestMetricsPush(t *testing.T) {
	g := startPushgateway(t)
	src, msgs := smallMaildir(t)
	dstA, dstB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	r := mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dstA, "-q", "--metrics-push", g.url, "--job-name", "alice")
	expectCode(t, r, 0)
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+dstB, "-q", "--metrics-push", g.url, "--job-name", "bob/archive", "--max-size", "400")
	expectCode(t, r, 0)
	got := g.metrics(t)
	expectJob(t, got, "alice", map[string]float64{"mailferry_messages_copied": float64(len(msgs)), "mailferry_messages_filtered": 0, "mailferry_exit_code": 0})
	expectJob(t, got, "bob/archive", map[string]float64{"mailferry_messages_copied": float64(len(msgs) - 3), "mailferry_messages_filtered": 3})
	success := got[lastSuccessMetric]["alice"]
	if time.Since(time.Unix(int64(success), 0)) > time.Minute {
		t.Errorf("alice's last success %v is not now", success)
	}

	// alice fails: her group gets the new exit code and keeps the last
	// success; bob's group is untouched.
	r = mailferry(t, nil, "copy", "maildir:"+filepath.Join(src, "missing"), "maildir:"+dstA, "-q", "--metrics-push", g.url, "--job-name", "alice")
	expectCode(t, r, exitUsage)
	got = g.metrics(t)
	expectJob(t, got, "alice", map[string]float64{"mailferry_exit_code": exitUsage, "mailferry_messages_copied": 0, lastSuccessMetric: success})
	expectJob(t, got, "bob/archive", map[string]float64{"mailferry_exit_code": 0, "mailferry_messages_copied": float64(len(msgs) - 3)})

	// A gateway that does not answer: the copy is done (and its metrics
	// file written), exit code 4.
	prom := filepath.Join(t.TempDir(), "mailferry.prom")
	down := "http://127.0.0.1:" + freePort(t)
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "c"), "-q", "--metrics-push", down, "--metrics-file", prom, "--job-name", "carol")
	expectCode(t, r, exitMonitoring)
	if !strings.Contains(r.stderr, "--metrics-push "+down) || !strings.Contains(r.stderr, "the copy itself succeeded") {
		t.Errorf("stderr does not name the gateway and the outcome:\n%s", r)
	}
	expectJob(t, metricsFileValues(t, prom), "carol", map[string]float64{"mailferry_messages_copied": float64(len(msgs)), "mailferry_exit_code": 0})
	// A run that failed anyway keeps its own exit code.
	r = mailferry(t, nil, "copy", "maildir:"+filepath.Join(src, "missing"), "maildir:"+dstA, "-q", "--metrics-push", down)
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "warning:") || !strings.Contains(r.stderr, "--metrics-push") {
		t.Errorf("the failed push is not reported:\n%s", r)
	}
	// Not a URL: a usage error before anything is copied.
	r = mailferry(t, nil, "copy", "maildir:"+src, "maildir:"+filepath.Join(t.TempDir(), "d"), "--metrics-push", "pushgateway:9091")
	expectCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--metrics-push \"pushgateway:9091\": expected the Pushgateway's URL") {
		t.Errorf("bad URL not explained:\n%s", r)
	}
}

// BenchmarkMetricsFileOf1000Jobs measures one job's write into a file that
// holds 1,000 jobs' series: each write merges into what the process last
// wrote and replaces the whole file, so a run of N jobs costs N such
// writes.
func BenchmarkMetricsFileOf1000Jobs(b *testing.B) {
	path := filepath.Join(b.TempDir(), "mailferry.prom")
	end := time.Unix(1700000000, 0)
	for i := range 1000 {
		if err := writeMetricsFile(path, runMetrics{Job: fmt.Sprintf("account-%04d@example.com", i), Summary: transfer.Summary{Copied: i}, End: end}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		if err := writeMetricsFile(path, runMetrics{Job: fmt.Sprintf("account-%04d@example.com", i%1000), End: end}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, _ := os.Stat(path)
	b.ReportMetric(float64(st.Size()), "file-bytes")
}

// A stopped run's push to a gateway that accepts but never answers gives
// up after stoppedPushTimeout, not after --timeout.
func TestMetricsPushOfAStoppedRunIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	err = pushMetrics(ctx, "http://"+l.Addr().String(), time.Hour, runMetrics{Job: "alice", ExitCode: exitTerminated, End: time.Now()})
	took := time.Since(start)
	if err == nil || took < stoppedPushTimeout || took > stoppedPushTimeout+5*time.Second {
		t.Errorf("push of a stopped run: %v after %v, want a timeout after %v", err, took, stoppedPushTimeout)
	}
}
