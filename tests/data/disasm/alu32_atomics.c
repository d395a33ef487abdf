// 32-bit sub-registers (-mcpu=v3), atomics with and without fetch, xchg,
// cmpxchg, byte swaps, 32-bit jumps and a noinline call.
typedef unsigned int __u32;
typedef unsigned short __u16;
typedef unsigned long long __u64;
#define SEC(name) __attribute__((section(name), used))

__u64 counter64;
__u32 counter32;

static __attribute__((noinline)) __u32 rotl(__u32 x, __u32 r)
{
	return (x << (r & 31)) | (x >> ((32 - r) & 31));
}

SEC("tc")
int atomics(__u32 *ctx)
{
	__u32 a = ctx[0], b = ctx[1];
	__u32 h = a * 2654435761u + (b ^ 0x5bd1e995);
	h = rotl(h, b);
	if (h > 1000 && (int)b < 7)
		h -= a;
	__sync_fetch_and_add(&counter64, 1);
	__u64 old = __sync_fetch_and_add(&counter64, h);
	__sync_fetch_and_or(&counter32, 4);
	__sync_fetch_and_and(&counter32, ~1u);
	__sync_fetch_and_xor(&counter32, a);
	__u32 f = __sync_fetch_and_or(&counter32, 8) + __sync_fetch_and_xor(&counter32, 3);
	__u64 x = __sync_lock_test_and_set(&counter64, old + f);
	__u32 c = __sync_val_compare_and_swap(&counter32, a, b);
	__u64 c64 = __sync_val_compare_and_swap(&counter64, x, 5);
	__u16 s = __builtin_bswap16((__u16)h);
	__u32 w = __builtin_bswap32(h);
	__u64 q = __builtin_bswap64(c64);
	return s + w + (__u32)(q >> 20) + c + (h % 13) + (a / (b | 1)) + ((int)a >> 3);
}

char _license[] SEC("license") = "GPL";
