// bpf-to-bpf calls: a static subprogram in .text called twice from one
// program and once from another (transitively through a second helper), and
// a bpf_loop callback referenced with LD_IMM64 src=4 (PSEUDO_FUNC), and a
// subprogram with a global-data relocation shared by two programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct loop_ctx {
	__u64 sum;
	__u32 limit;
};

static __noinline __u64 mix(__u64 a, __u64 b)
{
	return (a * 31) ^ (b + 7);
}

static __noinline __u64 mix_twice(__u64 a)
{
	return mix(a, a + 1) + 1;
}

static int add_step(__u32 index, void *data)
{
	struct loop_ctx *lc = data;

	if (index >= lc->limit)
		return 1;
	lc->sum += index;
	return 0;
}

SEC("socket")
int two_calls(struct __sk_buff *skb)
{
	__u64 x = mix(skb->len, 3);
	__u64 y = mix(x, skb->protocol);
	return (int)(x + y);
}

SEC("socket")
int nested_calls(struct __sk_buff *skb)
{
	return (int)mix_twice(skb->len);
}

SEC("tp/syscalls/sys_enter_write")
int loop_callback(void *ctx)
{
	struct loop_ctx lc = { .sum = 0, .limit = 10 };

	bpf_loop(100, add_step, &lc, 0);
	return (int)lc.sum;
}

// A subprogram that touches global data: each program that calls it gets its
// own copy, and with it its own map-value reference to .bss.
__u64 calls;

static __noinline int bump_calls(int ret)
{
	__sync_fetch_and_add(&calls, 1);
	return ret;
}

SEC("xdp")
int counted_pass(struct xdp_md *ctx)
{
	return bump_calls(XDP_PASS);
}

SEC("xdp")
int counted_drop(struct xdp_md *ctx)
{
	return bump_calls(XDP_DROP);
}

char _license[] SEC("license") = "GPL";
