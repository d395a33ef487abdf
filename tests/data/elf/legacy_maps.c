// iproute2-style object: a legacy "maps" section of struct bpf_elf_map
// (36-byte records with id/pinning/inner_id/inner_idx after the five
// bpf_map_def fields). libbpf refuses these (non-zero trailing fields);
// pybpf must not.
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

#define SEC(name) __attribute__((section(name), used))
#define PIN_GLOBAL_NS 2

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

SEC("maps") struct bpf_elf_map acl = {
	.type = 1, .size_key = 4, .size_value = 4, .max_elem = 128,
	.flags = 1, .id = 1, .pinning = PIN_GLOBAL_NS,
};

SEC("maps") struct bpf_elf_map stats = {
	.type = 6, .size_key = 4, .size_value = 8, .max_elem = 2,
};

// iproute2 map in map: the outer's inner_id names the template map's id.
SEC("maps") struct bpf_elf_map inner_tmpl = {
	.type = 2, .size_key = 4, .size_value = 4, .max_elem = 1, .id = 5, .inner_idx = 0,
};

SEC("maps") struct bpf_elf_map outer = {
	.type = 12, .size_key = 4, .size_value = 4, .max_elem = 4, .inner_id = 5,
};

struct sk_buff_ctx {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
};

SEC("classifier")
int cls_main(struct sk_buff_ctx *skb)
{
	__u32 key = skb->mark;
	__u32 *verdict = bpf_map_lookup_elem(&acl, &key);
	__u32 idx = verdict ? 1 : 0;
	__u64 *count = bpf_map_lookup_elem(&stats, &idx);
	if (count)
		__sync_fetch_and_add(count, 1);
	return verdict ? (int)*verdict : -1;
}

char __license[] SEC("license") = "GPL";
