// XDP: per-flow packet/byte counters in a BTF hash map, and a per-protocol
// array of counters, and a spin-locked total. Exercises BTF-defined maps
// (struct key/value types), map-fd relocations and the "xdp" section name.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
	__u32 src;
	__u32 dst;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} proto_counts SEC(".maps");

// A value with a spin lock (not at offset 0): its BTF gives the lock's
// offset, which BPF_F_LOCK lookups/updates depend on.
struct byte_total {
	__u64 bytes;
	struct bpf_spin_lock lock;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct byte_total);
} totals SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	__u32 proto = ip->protocol;
	__u64 *count = bpf_map_lookup_elem(&proto_counts, &proto);
	if (count)
		__sync_fetch_and_add(count, 1);

	struct flow_key key = { .src = ip->saddr, .dst = ip->daddr };
	struct flow_stats *stats = bpf_map_lookup_elem(&flows, &key);
	if (stats) {
		__sync_fetch_and_add(&stats->packets, 1);
		__sync_fetch_and_add(&stats->bytes, data_end - data);
	} else {
		struct flow_stats init = { .packets = 1, .bytes = data_end - data };
		bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
	}
	__u32 zero = 0;
	struct byte_total *total = bpf_map_lookup_elem(&totals, &zero);
	if (total) {
		bpf_spin_lock(&total->lock);
		total->bytes += data_end - data;
		bpf_spin_unlock(&total->lock);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
