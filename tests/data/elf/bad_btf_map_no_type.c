// Error fixture: a BTF map definition without __uint(type, ...).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} typeless SEC(".maps");

SEC("xdp")
int use_it(struct xdp_md *ctx)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&typeless, &k) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
