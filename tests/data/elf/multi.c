// Several programs in one object, one per libbpf section convention, and
// two programs sharing one section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &slot);
	if (v)
		*v += 1;
	return 0;
}

SEC("kprobe/do_unlinkat")
int kp_unlink(void *ctx) { return bump(0); }

SEC("kretprobe/do_unlinkat")
int krp_unlink(void *ctx) { return bump(1); }

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat(void *ctx) { return bump(2); }

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat_again(void *ctx) { return bump(3); }

SEC("raw_tp/sched_switch")
int rtp_switch(void *ctx) { return bump(4); }

SEC("fentry/do_unlinkat")
int fe_unlink(void *ctx) { return bump(5); }

SEC("perf_event")
int on_sample(void *ctx) { return bump(6); }

SEC("cgroup_skb/ingress")
int cg_in(struct __sk_buff *skb) { return 1; }

SEC("sk_skb/stream_parser")
int parser(struct __sk_buff *skb) { return skb->len; }

SEC("sk_msg")
int msg_pass(struct sk_msg_md *msg) { return SK_PASS; }

SEC("syscall")
int sys_prog(void *ctx) { return bump(7); }

SEC("lsm/file_open")
int lsm_open(void *ctx) { return 0; }

char _license[] SEC("license") = "GPL";
