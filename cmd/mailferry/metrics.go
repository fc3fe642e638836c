package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mailferry/mailferry/transfer"
)

// runMetrics is what one job's run tells monitoring.
type runMetrics struct {
	// Job names the job: the job label of every series.
	Job      string
	Summary  transfer.Summary
	ExitCode int
	End      time.Time
}

// jobLabel is the label that tells the series of one job from another's,
// in the metrics file and as the Pushgateway's grouping key.
const jobLabel = "job"

const lastSuccessMetric = "mailferry_last_success_timestamp_seconds"

// runGauges are the gauges of one run, in the order they are described.
// mailferry_last_success_timestamp_seconds is not among them: its value
// depends on earlier runs.
var runGauges = []struct {
	name, help string
	value      func(runMetrics) float64
}{
	{"mailferry_messages_copied", "Messages copied by the last run.", func(m runMetrics) float64 { return float64(m.Summary.Copied) }},
	{"mailferry_messages_skipped", "Messages the last run did not copy because the destination holds them already.", func(m runMetrics) float64 { return float64(m.Summary.Skipped) }},
	{"mailferry_messages_filtered", "Messages the last run left out by --since, --before or --max-size.", func(m runMetrics) float64 { return float64(m.Summary.Filtered) }},
	{"mailferry_messages_failed", "Messages (or folders) that failed in the last run.", func(m runMetrics) float64 { return float64(m.Summary.Failed) }},
	{"mailferry_bytes_copied", "Bytes copied by the last run.", func(m runMetrics) float64 { return float64(m.Summary.Bytes) }},
	{"mailferry_duration_seconds", "Duration of the last run in seconds.", func(m runMetrics) float64 { return m.Summary.Seconds }},
	{"mailferry_last_run_timestamp_seconds", "Unix time the last run ended.", func(m runMetrics) float64 { return unixSeconds(m.End) }},
	{"mailferry_exit_code", "Exit code of the last run: 0 done, 1 failed, 2 usage error, 3 some messages failed, 4 done but the metrics or report not recorded, 130 interrupted (SIGINT), 143 stopped (SIGTERM).", func(m runMetrics) float64 { return float64(m.ExitCode) }},
}

// stoppedPushTimeout bounds the push of a run that was stopped by a signal.
const stoppedPushTimeout = 5 * time.Second

const lastSuccessHelp = "Unix time the last successful run (exit code 0) ended; 0 if none is known."

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// runRegistry holds the gauges of m. labels are put on every series (the
// metrics file's job label; none for the Pushgateway, whose grouping key
// is the job). lastSuccess < 0 leaves that gauge out.
func runRegistry(m runMetrics, labels prometheus.Labels, lastSuccess float64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	add := func(name, help string, v float64) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
		g.Set(v)
		reg.MustRegister(g)
	}
	for _, g := range runGauges {
		add(g.name, g.help, g.value(m))
	}
	if lastSuccess >= 0 {
		add(lastSuccessMetric, lastSuccessHelp, lastSuccess)
	}
	return reg
}

// monitoringError is a run that did its work but whose metrics could not
// be written or pushed: exit code 4, so that an alert on data failures
// (1, 3) does not fire for it, and a missing metric is still noticed.
type monitoringError struct{ err error }

func (e *monitoringError) Error() string { return e.err.Error() }
func (e *monitoringError) Unwrap() error { return e.err }

// metricsTargets are where a run's metrics go.
type metricsTargets struct {
	File string // --metrics-file: node_exporter's textfile collector
	Push string // --metrics-push: a Pushgateway's URL
	// Timeout bounds a push.
	Timeout time.Duration
}

func (t metricsTargets) empty() bool { return t.File == "" && t.Push == "" }

// metricsTargetsFrom reads --metrics-file and --metrics-push; a push URL
// that is not http(s)://HOST is a usage error, found before the run.
func metricsTargetsFrom(file, pushURL string, timeout time.Duration) (metricsTargets, error) {
	t := metricsTargets{File: file, Push: pushURL, Timeout: timeout}
	if pushURL != "" {
		u, err := url.Parse(pushURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return t, usageErrorf("--metrics-push %q: expected the Pushgateway's URL, such as http://pushgateway:9091", pushURL)
		}
	}
	return t, nil
}

// record sends m to every target. Every target is tried; the error (a
// *monitoringError) names each that failed.
func (t metricsTargets) record(ctx context.Context, m runMetrics) error {
	var errs []error
	if t.File != "" {
		if err := writeMetricsFile(t.File, m); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-file %s: %w", t.File, err))
		}
	}
	if t.Push != "" {
		if err := pushMetrics(ctx, t.Push, t.Timeout, m); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-push %s: %w", t.Push, err))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &monitoringError{err: fmt.Errorf("the run's metrics were not recorded: %w", errors.Join(errs...))}
}

// metricsFileMu serialises the jobs of one process that write one file;
// the lock file beside it serialises processes.
var metricsFileMu sync.Mutex

// writeMetricsFile puts the series of m's job into the metrics file at
// path and keeps the other jobs' series, so one file serves every job of
// a run and of earlier runs. The file is read, merged and replaced by a
// rename (prometheus.WriteToTextfile), under an flock on PATH.lock, so a
// scrape never sees half of it and two runs cannot drop each other's
// jobs. A job's last-success timestamp is carried over from the file when
// this run did not succeed, so an alert on its age fires after repeated
// failures.
func writeMetricsFile(path string, m runMetrics) error {
	metricsFileMu.Lock()
	defer metricsFileMu.Unlock()
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return fmt.Errorf("directory %s does not exist", filepath.Dir(path))
	}
	lock, err := lockMetricsFile(path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Close()

	old, err := metricsFileCache.read(path)
	if err != nil {
		// A file that is not in the text format is replaced: its
		// other jobs' series come back with their next runs.
		old = nil
	}
	lastSuccess := 0.0
	if m.ExitCode == exitOK {
		lastSuccess = unixSeconds(m.End)
	} else {
		lastSuccess = previousValue(old[lastSuccessMetric], m.Job)
	}
	fresh, err := runRegistry(m, prometheus.Labels{jobLabel: m.Job}, lastSuccess).Gather()
	if err != nil {
		return err
	}
	merged := mergeJobFamilies(fresh, old, m.Job)
	if err := prometheus.WriteToTextfile(path, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return merged, nil })); err != nil {
		return err
	}
	// WriteToTextfile renames without an fsync; make the new file and
	// its name durable.
	if f, err := os.Open(path); err == nil {
		_ = f.Sync()
		if st, err := f.Stat(); err == nil {
			metricsFileCache.keep(path, st, merged)
		}
		f.Close()
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// lockMetricsFile takes the lock beside a metrics file, waiting up to 10
// seconds for another run that writes it: writing takes milliseconds.
func lockMetricsFile(path string) (*transfer.Lock, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := transfer.AcquireLock(path)
		if !errors.Is(err, transfer.ErrInUse) || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metricsFileCache holds what this process last wrote to each metrics
// file, so the jobs of one run merge into the families already in memory
// instead of parsing the file again for each job (a thousand jobs' file
// takes tens of milliseconds to parse). Used under metricsFileMu.
var metricsFileCache = writtenMetrics{}

// writtenMetrics maps a metrics file's path to the families last written
// there and the file's identity just after the write.
type writtenMetrics map[string]writtenMetricsFile

type writtenMetricsFile struct {
	file     os.FileInfo
	families map[string]*dto.MetricFamily
}

// keep records families as path's content; st is the written file's.
func (w writtenMetrics) keep(path string, st os.FileInfo, families []*dto.MetricFamily) {
	byName := make(map[string]*dto.MetricFamily, len(families))
	for _, mf := range families {
		byName[mf.GetName()] = mf
	}
	w[path] = writtenMetricsFile{file: st, families: byName}
}

// read is the metrics file at path: what this process wrote there, while
// the file is still the one it wrote (another run replaces it by a rename,
// which gives it another inode and time), else the file parsed. The entry
// is dropped as it is handed out: the merge changes the families.
func (w writtenMetrics) read(path string) (map[string]*dto.MetricFamily, error) {
	c, ok := w[path]
	delete(w, path)
	if ok {
		if st, err := os.Stat(path); err == nil && os.SameFile(st, c.file) &&
			st.Size() == c.file.Size() && st.ModTime().Equal(c.file.ModTime()) {
			return c.families, nil
		}
	}
	return readMetricsFile(path)
}

// readMetricsFile parses the metrics file at path; a missing file is empty.
func readMetricsFile(path string) (map[string]*dto.MetricFamily, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(f)
}

// labelValue is the value of label name on m, and whether m has it.
func labelValue(m *dto.Metric, name string) (string, bool) {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue(), true
		}
	}
	return "", false
}

// metricValue is the value of a gauge, counter or untyped sample.
func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// previousValue is job's value in a family read from the file: its own
// series, else the unlabelled one a version without job labels wrote,
// else 0.
func previousValue(mf *dto.MetricFamily, job string) float64 {
	unlabelled := 0.0
	for _, m := range mf.GetMetric() {
		v, ok := labelValue(m, jobLabel)
		if ok && v == job {
			return metricValue(m)
		}
		if len(m.GetLabel()) == 0 {
			unlabelled = metricValue(m)
		}
	}
	return unlabelled
}

// mergeJobFamilies is fresh (the series of job) with the series of the
// other jobs in old added to each family. Series without a job label (a
// file from a version without them) are dropped, and so is a family whose
// type changed.
func mergeJobFamilies(fresh []*dto.MetricFamily, old map[string]*dto.MetricFamily, job string) []*dto.MetricFamily {
	others := func(mf *dto.MetricFamily) []*dto.Metric {
		var out []*dto.Metric
		for _, m := range mf.GetMetric() {
			if v, ok := labelValue(m, jobLabel); ok && v != job {
				out = append(out, m)
			}
		}
		return out
	}
	byName := make(map[string]*dto.MetricFamily)
	for _, mf := range fresh {
		byName[mf.GetName()] = mf
	}
	for name, mf := range old {
		kept := others(mf)
		if len(kept) == 0 {
			continue
		}
		if f, ok := byName[name]; ok {
			if f.GetType() == mf.GetType() {
				f.Metric = append(f.Metric, kept...)
			}
			continue
		}
		mf.Metric = kept
		byName[name] = mf
	}
	out := make([]*dto.MetricFamily, 0, len(byName))
	for _, mf := range byName {
		slices.SortFunc(mf.Metric, func(a, b *dto.Metric) int {
			x, _ := labelValue(a, jobLabel)
			y, _ := labelValue(b, jobLabel)
			return strings.Compare(x, y)
		})
		out = append(out, mf)
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// pushMetrics sends m to the Pushgateway at gateway, grouped by job: a
// successful run replaces its job's group (PUT); any other run adds its
// gauges to the group (POST) without the last-success timestamp, which
// the gateway then keeps from the last successful run.
func pushMetrics(ctx context.Context, gateway string, timeout time.Duration, m runMetrics) error {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if ctx.Err() != nil {
		// The run was stopped (SIGTERM from systemd or Kubernetes, which
		// kill after a grace period): push what it did, but do not spend
		// the grace period waiting for a gateway.
		timeout = min(timeout, stoppedPushTimeout)
	}
	lastSuccess := -1.0
	if m.ExitCode == exitOK {
		lastSuccess = unixSeconds(m.End)
	}
	p := push.New(gateway, m.Job).
		Gatherer(runRegistry(m, nil, lastSuccess)).
		Client(&http.Client{Timeout: timeout})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if m.ExitCode == exitOK {
		return p.PushContext(ctx)
	}
	return p.AddContext(ctx)
}
