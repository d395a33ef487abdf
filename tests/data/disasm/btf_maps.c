// BTF-defined maps (".maps" section) and several programs in one object,
// plus a global function and stores of immediates; also built for bpfeb.
typedef unsigned int __u32;
typedef unsigned long long __u64;
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct {
	__uint(type, 1);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static __u64 (*bpf_get_prandom_u32)(void) = (void *)7;

struct pair { __u32 a; unsigned short b; unsigned char c, d; __u64 e; };

__attribute__((noinline)) int bump(__u32 key, __u64 by)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &key);
	if (!v) {
		bpf_map_update_elem(&hits, &key, &by, 0);
		return 0;
	}
	*v += by;
	return 1;
}

SEC("kprobe/sys_open")
int on_open(void *ctx)
{
	struct pair p = { .a = 7, .b = 0x1234, .c = 1, .d = 2, .e = 0x1122334455667788ULL };
	volatile struct pair *vp = &p;
	vp->a += bpf_get_prandom_u32() & 15;
	return bump(vp->a, vp->e) + vp->b;
}

SEC("kprobe/sys_close")
int on_close(void *ctx)
{
	return bump(0, -1LL) ? 0 : -22;
}

char _license[] SEC("license") = "GPL";
