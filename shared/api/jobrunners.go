package api

import "github.com/switchboard-msp/switchboard/shared/jobs"

// jobRunner is one job kind and its runner.
type jobRunner struct {
	kind string
	run  jobs.Runner
}

// jobRunners are the runners of the jobs that routes start, one line a kind. The
// registry is built explicitly, not by init functions, so that only the functions
// that start or run jobs link the runners, and no cold start registers them.
func jobRunners() []jobRunner {
	return []jobRunner{
		{KindCustomerImport, runCustomerImport},
		{KindCustomerMerge, runCustomerMerge},
		{KindCompanyUserImport, runCompanyUserImport},
		{KindPSASync, runPSASyncJob},
		{KindCompanyUserPSAImport, runCompanyUserPSAImport},
	}
}

// JobRunners returns a new registry of every job kind's runner: what the job worker,
// the local queue and the routes that start jobs are given. Each call builds a fresh
// one, so a test may add kinds of its own.
func JobRunners() *jobs.Registry {
	reg := jobs.NewRegistry()
	for _, r := range jobRunners() {
		reg.Register(r.kind, r.run)
	}
	return reg
}
