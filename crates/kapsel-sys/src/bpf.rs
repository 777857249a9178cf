//! bpf(2) wrappers for cgroup v2 device filters (BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_QUERY, BPF_PROG_DETACH).
