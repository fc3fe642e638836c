package jobs

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Options change how a jobs file is read.
type Options struct {
	// Accounts is an accounts file (--accounts) for every job that names
	// none; relative to the current directory.
	Accounts string
	// ReadFile reads an accounts file; os.ReadFile when nil.
	ReadFile func(path string) ([]byte, error)
	// Refused are options of the caller that a jobs file does not take,
	// each with what to write instead: the message in place of "unknown
	// key".
	Refused map[string]string
}

// Plan is what a jobs file asks for.
type Plan struct {
	Jobs []Job
	// Warnings are things the user should know that do not stop the run
	// (an inline password), each naming its line.
	Warnings []string
}

// Load reads the jobs file at path and the accounts files its jobs name.
func Load(path string, keys Keys, o Options) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jobs file: %w", err)
	}
	return Parse(path, data, keys, o)
}

// Parse reads a jobs file's content. name is its path: messages name it,
// and an accounts file named in it is found relative to its directory.
//
// The file is a mapping with `defaults:` (options for every job) and
// `jobs:` (a list of mappings, each with name, source, destination, an
// optional accounts file and options). Every problem found is reported,
// each with its line, up to a limit.
func Parse(name string, data []byte, keys Keys, o Options) (*Plan, error) {
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	r := &reader{file: name, keys: keys, opts: o}
	plan := r.parse(data)
	if err := r.p.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

type reader struct {
	file string
	keys Keys
	opts Options
	p    problems
}

func (r *reader) at(n *yaml.Node) Where { return Where{File: r.file, Line: n.Line} }

// topKeys are the keys of the file itself.
var topKeys = []string{"defaults", "jobs"}

// jobKeys are the keys of a job besides its options.
var jobKeys = []string{KeyName, KeySource, KeyDestination, KeyAccounts, KeySourcePassword, KeyDestPassword}

func (r *reader) parse(data []byte) *Plan {
	plan := &Plan{}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.p.add(Where{File: r.file}, "", "", "not a YAML jobs file: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		return plan
	}
	if len(doc.Content) == 0 {
		r.p.add(Where{File: r.file}, "", "", "the file is empty; it needs a jobs: list")
		return plan
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		r.p.add(r.at(root), "", "", "expected a mapping with defaults: and jobs:, got %s", describe(root))
		return plan
	}
	var defaults []Option
	var jobsNode *yaml.Node
	r.eachKey(root, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "defaults":
			defaults = r.options(v, "")
		case "jobs":
			jobsNode = v
		default:
			r.unknown(k, "", key, topKeys)
		}
	})
	if jobsNode == nil {
		r.p.add(r.at(root), "", "", "no jobs: list")
		return plan
	}
	if jobsNode.Kind != yaml.SequenceNode {
		r.p.add(r.at(jobsNode), "", "jobs", "expected a list of jobs, got %s", describe(jobsNode))
		return plan
	}
	if len(jobsNode.Content) == 0 {
		r.p.add(r.at(jobsNode), "", "jobs", "the list is empty")
	}
	for _, n := range jobsNode.Content {
		plan.Jobs = append(plan.Jobs, r.job(resolve(n), defaults, &plan.Warnings)...)
	}
	r.uniqueNames(plan.Jobs)
	return plan
}

// job reads one entry of jobs:, and expands it when it has accounts.
func (r *reader) job(n *yaml.Node, defaults []Option, warnings *[]string) []Job {
	if n.Kind != yaml.MappingNode {
		r.p.add(r.at(n), "", "", "a job is a mapping with name, source and destination, got %s", describe(n))
		return nil
	}
	j := Job{Where: r.at(n)}
	// The name first, so that every other problem can name the job.
	var nameNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == KeyName && nameNode == nil {
			nameNode = resolve(n.Content[i+1])
		}
	}
	if nameNode == nil {
		r.p.add(j.Where, "", "", "a job without a name: give it name: (letters, digits, . _ @ + = / -)")
		return nil
	}
	if s, ok := r.scalar(nameNode, "", KeyName); ok {
		if !validName(s) {
			r.p.add(r.at(nameNode), "", KeyName, "%q is not a job name: use letters, digits and . _ @ + = / -, starting with a letter or digit", s)
			return nil
		}
		j.Name = s
	} else {
		return nil
	}
	var accounts *yaml.Node
	var own []Option
	r.eachKey(n, j.Name, func(key string, k, v *yaml.Node) {
		switch key {
		case KeyName:
		case KeySource, KeyDestination:
			s, ok := r.scalar(v, j.Name, key)
			if !ok {
				return
			}
			o := Option{Key: key, Values: []string{s}, Where: r.at(v)}
			if key == KeySource {
				j.Source = o
			} else {
				j.Destination = o
			}
		case KeyAccounts:
			accounts = v
		case KeySourcePassword, KeyDestPassword:
			s, ok := r.scalar(v, j.Name, key)
			if !ok {
				return
			}
			*warnings = append(*warnings, fmt.Sprintf("%s: job %q: %s is written in the jobs file, where anyone who can read the file can read it; "+
				"use %s-file or %s-command", r.at(v), j.Name, key, key, key))
			if key == KeySourcePassword {
				j.SourcePassword = s
			} else {
				j.DestPassword = s
			}
		default:
			if kind, ok := r.keys[key]; ok {
				if vals, ok := r.value(v, j.Name, key, kind); ok {
					own = append(own, Option{Key: key, Values: vals, Where: r.at(v)})
				}
				return
			}
			r.unknown(k, j.Name, key, r.keys.names(jobKeys...))
		}
	})
	if j.Source.Key == "" {
		r.p.add(j.Where, j.Name, "", "no source:")
	}
	if j.Destination.Key == "" {
		r.p.add(j.Where, j.Name, "", "no destination:")
	}
	j.Options = merge(defaults, own)
	r.inlineConflicts(&j)

	path := r.opts.Accounts
	where := Where{File: "--accounts"}
	if accounts != nil {
		s, ok := r.scalar(accounts, j.Name, KeyAccounts)
		if !ok {
			return nil
		}
		path, where = s, r.at(accounts)
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(r.file), path)
		}
	}
	if path == "" {
		r.noPlaceholders(&j)
		return []Job{j}
	}
	data, err := r.opts.ReadFile(path)
	if err != nil {
		r.p.add(where, j.Name, KeyAccounts, "%v", err)
		return nil
	}
	return expand(j, path, data, r.keys, &r.p)
}

// inlineConflicts rejects an inline password next to another way of
// giving the same secret: which one would win is not obvious.
func (r *reader) inlineConflicts(j *Job) {
	for _, side := range []struct{ prefix, inline string }{{"source", j.SourcePassword}, {"dest", j.DestPassword}} {
		if side.inline == "" {
			continue
		}
		for _, o := range j.Options {
			if strings.HasPrefix(o.Key, side.prefix+"-password-") || o.Key == side.prefix+"-oauth2-token-command" {
				r.p.add(o.Where, j.Name, o.Key, "the job also has an inline %s-password: give one of them", side.prefix)
			}
		}
	}
}

// noPlaceholders rejects {source-user} and {dest-user} in a job without
// accounts: nothing would replace them.
func (r *reader) noPlaceholders(j *Job) {
	for _, o := range append([]Option{j.Source, j.Destination}, j.Options...) {
		for _, v := range o.Values {
			for _, ph := range placeholders {
				if strings.Contains(v, ph) {
					r.p.add(o.Where, j.Name, o.Key, "%s is replaced only in a job with accounts: (one job per row of a CSV file)", ph)
				}
			}
		}
	}
}

// merge is defaults with the job's own options over them, sorted by key.
func merge(defaults, own []Option) []Option {
	out := make([]Option, 0, len(defaults)+len(own))
	for _, d := range defaults {
		if !slices.ContainsFunc(own, func(o Option) bool { return o.Key == d.Key }) {
			out = append(out, d)
		}
	}
	out = append(out, own...)
	slices.SortFunc(out, func(a, b Option) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// options reads the mapping of defaults:.
func (r *reader) options(n *yaml.Node, job string) []Option {
	if n.Kind != yaml.MappingNode {
		r.p.add(r.at(n), job, "defaults", "expected a mapping of options, got %s", describe(n))
		return nil
	}
	var out []Option
	r.eachKey(n, job, func(key string, k, v *yaml.Node) {
		kind, ok := r.keys[key]
		if !ok {
			if slices.Contains(jobKeys, key) {
				r.p.add(r.at(k), job, key, "belongs in a job, not in defaults:")
				return
			}
			r.unknown(k, job, key, r.keys.names())
			return
		}
		if vals, ok := r.value(v, job, key, kind); ok {
			out = append(out, Option{Key: key, Values: vals, Where: r.at(v)})
		}
	})
	return out
}

// eachKey calls f for each key of mapping n, in order, once: a key given
// twice is an error.
func (r *reader) eachKey(n *yaml.Node, job string, f func(key string, k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			r.p.add(r.at(k), job, "", "a key must be a name, got %s", describe(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			r.p.add(r.at(k), job, k.Value, "given twice (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		f(k.Value, k, v)
	}
}

func (r *reader) unknown(k *yaml.Node, job, key string, known []string) {
	if why, ok := r.opts.Refused[key]; ok {
		r.p.add(r.at(k), job, key, "%s", why)
		return
	}
	msg := "unknown key"
	if s := suggest(key, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += "; the keys are the options of mailferry copy, without their dashes (see 'mailferry copy --help')"
	}
	r.p.add(r.at(k), job, key, "%s", msg)
}

// scalar reads a text value.
func (r *reader) scalar(n *yaml.Node, job, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		r.p.add(r.at(n), job, key, "expected a string, got %s", describe(n))
		return "", false
	}
	if n.Tag == "!!null" {
		r.p.add(r.at(n), job, key, "has no value")
		return "", false
	}
	return n.Value, true
}

// value reads an option's value as kind, in the form the command line
// takes it.
func (r *reader) value(n *yaml.Node, job, key string, kind Kind) ([]string, bool) {
	if kind == List && n.Kind == yaml.SequenceNode {
		var out []string
		for _, item := range n.Content {
			s, ok := r.scalar(resolve(item), job, key)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		if len(out) == 0 {
			r.p.add(r.at(n), job, key, "the list is empty; leave the key out instead")
			return nil, false
		}
		return out, true
	}
	s, ok := r.scalar(n, job, key)
	if !ok {
		return nil, false
	}
	v, msg := convert(s, n.Tag, kind)
	if msg != "" {
		r.p.add(r.at(n), job, key, "%s", msg)
		return nil, false
	}
	return []string{v}, true
}

// convert checks the text s (of YAML tag tag; "" for a CSV cell) as a
// value of kind and returns it as the command line takes it, or says
// what is wrong.
func convert(s, tag string, kind Kind) (string, string) {
	bad := func() (string, string) { return "", fmt.Sprintf("%q is not %s", s, kind) }
	switch kind {
	case Bool:
		if tag != "" && tag != "!!bool" {
			return bad()
		}
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return bad()
		}
		return strconv.FormatBool(b), ""
	case Int:
		if tag != "" && tag != "!!int" {
			return bad()
		}
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil || i < math.MinInt32 || i > math.MaxInt32 {
			return bad()
		}
		return strconv.FormatInt(i, 10), ""
	case Float:
		if tag != "" && tag != "!!int" && tag != "!!float" {
			return bad()
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad()
		}
		return strconv.FormatFloat(f, 'g', -1, 64), ""
	case Duration:
		if _, err := time.ParseDuration(s); err != nil {
			return bad()
		}
	}
	return s, ""
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 10; i++ {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// uniqueNames rejects two jobs of one name: --job, shards and locks find
// a job by it.
func (r *reader) uniqueNames(all []Job) {
	seen := make(map[string]Where, len(all))
	for _, j := range all {
		if w, dup := seen[j.Name]; dup {
			r.p.add(j.Where, j.Name, "", "a second job of this name (the first is at %s)", w)
			continue
		}
		seen[j.Name] = j.Where
	}
}
