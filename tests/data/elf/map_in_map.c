// Map in map: an ARRAY_OF_MAPS with an inner map template and initial slots
// (libbpf's __array(values, ...) with designated initializers), and a
// HASH_OF_MAPS with no initial values, and a PROG_ARRAY with an initial program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(__u32));
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE);
	__uint(numa_node, 1);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 32);
		__type(key, __u64);
		__type(value, __u32);
	});
} by_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
	__uint(numa_node, 0);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u32);
	__uint(map_extra, 3);
} bloom SEC(".maps");

// Newer bpf_helpers.h spell 64-bit attributes __ulong(name, val): an enum
// with one enumerator (written out here; libbpf-dev 1.1 lacks the macro).
struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u64);
	enum { bloom_wide_extra = 5 } map_extra;
} bloom_wide SEC(".maps");

int lookup_inner(struct xdp_md *ctx);

// A program array whose slot 1 starts out holding lookup_inner (libbpf fills
// it from the .rel.maps relocation against the function).
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct xdp_md *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&lookup_inner },
};

SEC("xdp")
int tail(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jumps, 1);
	return XDP_PASS;
}

SEC("xdp")
int lookup_inner(struct xdp_md *ctx)
{
	__u32 slot = 0, key = 1;
	void *inner = bpf_map_lookup_elem(&outer, &slot);
	if (!inner)
		return XDP_ABORTED;
	__u64 *v = bpf_map_lookup_elem(inner, &key);
	if (v)
		*v += 1;
	void *h = bpf_map_lookup_elem(&by_hash, &key);
	return h ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
