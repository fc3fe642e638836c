package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiles for `go tool pprof`, asked for by environment variables so they
// stay out of the options users see: MAILFERRY_CPUPROFILE=FILE writes a CPU
// profile of the whole run, MAILFERRY_MEMPROFILE=FILE a heap profile
// (allocations included) at its end.
const (
	cpuProfileEnv = "MAILFERRY_CPUPROFILE"
	memProfileEnv = "MAILFERRY_MEMPROFILE"
)

// startProfiles starts what the environment asks for and returns the
// function that finishes it. Failures are reported on stderr and leave the
// run alone.
func startProfiles(stderr io.Writer) (stop func()) {
	var cpu *os.File
	if path := os.Getenv(cpuProfileEnv); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mailferry: %s=%s: %v\n", cpuProfileEnv, path, err)
		} else {
			cpu = f
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		if path := os.Getenv(memProfileEnv); path != "" {
			runtime.GC()
			f, err := os.Create(path)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintf(stderr, "mailferry: %s=%s: %v\n", memProfileEnv, path, err)
			}
		}
	}
}
