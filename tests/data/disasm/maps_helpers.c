// A socket-filter style program: legacy "maps" section, helper calls, LD_ABS.
typedef unsigned int __u32;
typedef unsigned long long __u64;

struct bpf_map_def {
	__u32 type, key_size, value_size, max_entries, map_flags;
};

#define SEC(name) __attribute__((section(name), used))

SEC("maps") struct bpf_map_def counts = {
	.type = 1, .key_size = 4, .value_size = 8, .max_entries = 256,
};

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int count_protocols(void *skb)
{
	__u32 key = load_byte(skb, 23);
	__u32 eth = load_half(skb, 12);
	__u64 *value = bpf_map_lookup_elem(&counts, &key);
	if (value) {
		__sync_fetch_and_add(value, 1);
	} else {
		__u64 one = bpf_ktime_get_ns() & 1;
		bpf_map_update_elem(&counts, &key, &one, 0);
	}
	if (eth == 0x86dd)
		return load_word(skb, 14) >> 28;
	return -1;
}

char _license[] SEC("license") = "GPL";
