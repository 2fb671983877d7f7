// Package envinfo owns "what a run ran on": the tor versions of the
// processes, the effective configuration of the relay under test read over
// its control port, tor's memory budget, the kernel tuning that limits a
// relay (sysctls, open-files limits, cgroup memory limits) and the machine
// itself. Capture records it once per run as env.json, and Diff lists what
// differs between two runs, so that `relaybench compare` can say why two
// results are not comparable.
//
// Capture never fails as a whole: what cannot be read is recorded in Notes
// (or in a process's error field), with the reason, and the rest is kept.
//
// # env.json
//
// env.json is one JSON object (schema version 1, indented, keys in
// snake_case). Sizes are bytes; an absent optional field means "not
// known", never zero.
//
//	{
//	  "version": 1,                        // schema version (SchemaVersion)
//	  "captured_at": "2025-11-23T12:00:00Z",
//	  "relaybench_version": "v0.3.0",      // module version or "(devel) <vcs revision>"
//	  "machine": {
//	    "kernel_release": "6.1.0-26-amd64",  // /proc/sys/kernel/osrelease
//	    "kernel_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)",
//	    "arch": "amd64",                     // GOARCH of the harness
//	    "cpu_model": "AMD EPYC 7B13",        // first "model name" of /proc/cpuinfo
//	    "cores": 2,                          // runtime.NumCPU(): CPUs the harness may use
//	    "cpuinfo_processors": 2,             // "processor" entries of /proc/cpuinfo
//	    "ram_bytes": 25276026880,            // MemTotal of /proc/meminfo (what tor sizes itself from)
//	    "go_version": "go1.26.8"
//	  },
//	  "sysctls": {                         // /proc/sys values, whitespace collapsed to one space
//	    "net.ipv4.ip_local_port_range": "32768 60999",
//	    "net.ipv4.tcp_rmem": "4096 131072 6291456"
//	  },
//	  "sysctls_missing": ["net.netfilter.nf_conntrack_max"], // not present on this kernel (module not loaded)
//	  "processes": [{
//	    "name": "rbtarget",                // Source.Name
//	    "role": "target",                  // target, relay, client, harness
//	    "pid": 4242,                       // for the record only; Diff ignores it
//	    "binary": "/usr/sbin/tor",         // Source.TorBinary, else /proc/PID/exe
//	    "tor_version": "0.4.9.11",
//	    "tor_version_source": "control-port", // "control-port" (GETINFO version) or "binary" (tor --version)
//	    "nofile_soft": 20000,              // "Max open files" of /proc/PID/limits; -1 = unlimited
//	    "nofile_hard": 20000,
//	    "tor_descriptor_limit": 19968,     // GETINFO process/descriptor-limit: sockets tor allows itself
//	    "cgroup_memory_limit_bytes": 4294967296, // memory.max / memory.limit_in_bytes; absent = unlimited
//	    "error": "..."                     // what could not be read about this process
//	  }],
//	  "target": {                          // the process whose Role is "target"
//	    "name": "rbtarget",
//	    "source": "control-port",          // where options came from; "none" when not readable
//	    "error": "...",                    // why the options could not be read
//	    "options": {                       // GETCONF values as tor prints them (see below)
//	      "MaxMemInQueues": "314572800",
//	      "BandwidthRate": "2097152"
//	    },
//	    "memory_budget": {
//	      "bytes": 314572800,              // tor's effective MaxMemInQueues
//	      "source": "tor",                 // "tor": GETINFO limits/max-mem-in-queues; "computed": from the rule below
//	      "rule": "MaxMemInQueues 300 MiB (configured)",
//	      "configured_bytes": 314572800,   // MaxMemInQueues from GETCONF; 0 = unset (tor picks from RAM)
//	      "low_threshold_bytes": 235929600, // 75 %: tor records memory pressure
//	      "oom_threshold_bytes": 314572800  // 100 %: the OOM handler kills circuits (down to 90 %)
//	    },
//	    "consensus_params": {              // "params" of the consensus the target holds (relays only):
//	      "DoSCircuitCreationEnabled": "1", // what the DoS* options left at "auto" follow
//	      "DoSCircuitCreationRate": "3"
//	    }
//	  },
//	  "notes": ["sysctl net.core.somaxconn: permission denied"]
//	}
//
// # Target options
//
// Options holds the values tor itself reports with GETCONF for the keys of
// TargetOptions. Tor prints them normalised, not as written in the torrc:
// sizes and rates as integers in bytes ("MaxMemInQueues 300 MB" reads
// "314572800", "BandwidthRate 2 MBytes" reads "2097152"; tor's MB is 2^20
// bytes), booleans as "0"/"1", and "auto" where tor decides at run time
// (the DoS* options from the consensus, ExitRelay from the exit policy).
// An option that is unset and has no default (ORPort on a
// client, for instance) reads as "". Repeated options (several ORPort
// lines) are joined with ", ". 0 often means "let tor decide": NumCPUs 0
// (one worker per core), MaxMemInQueues 0 (see the memory budget),
// KISTSchedRunInterval 0 (from the consensus).
//
// # Memory budget
//
// When MaxMemInQueues is unset tor sizes it from MemTotal of /proc/meminfo
// (not from a cgroup limit): 40 % of RAM when RAM >= 8 GiB, else 75 %,
// capped at 8 GiB (2 GiB on 32-bit builds), at least 256 MiB. See
// ComputeMemoryBudget for the source it follows.
package envinfo
