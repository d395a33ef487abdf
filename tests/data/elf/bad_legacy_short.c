// Error fixture: legacy "maps" records of 12 bytes (no max_entries).
typedef unsigned int __u32;
#define SEC(name) __attribute__((section(name), used))

struct short_def {
	__u32 type, key_size, value_size;
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

SEC("maps") struct short_def tiny = { .type = 2, .key_size = 4, .value_size = 4 };

SEC("socket")
int use_it(void *skb)
{
	__u32 k = 0;
	return bpf_map_lookup_elem(&tiny, &k) ? 1 : 0;
}

char _license[] SEC("license") = "GPL";
