// Bounded loops, a switch (jump chain), signed compares and a bpf-to-bpf call.
// Built with -mcpu=v2 so the 64-bit jlt/jle/jslt/jsle appear.
typedef unsigned long long __u64;
typedef long long __s64;
#define SEC(name) __attribute__((section(name), used))

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
	return (a ^ (b << 7)) * 0x9e3779b97f4a7c15ULL + (a >> 3);
}

static __attribute__((noinline)) int classify(__s64 v)
{
	switch (v) {
	case 0: return 10;
	case 1: return 21;
	case 2: return 35;
	case 7: return -4;
	case 100: return 9;
	default: return v < -5 ? -1 : 1;
	}
}

SEC("xdp")
int loops(unsigned char *ctx)
{
	__u64 acc = 0;
	__s64 sacc = 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < 40; i++) {
		acc = mix(acc, ctx[i & 7]);
		if ((__s64)acc < 0)
			sacc -= i;
		else if (acc % 3 == 1)
			sacc += classify(i);
	}
	unsigned int n = ctx[1];
	while (n > 1)
		n = (n & 1) ? 3 * n + 1 : n / 2;
	return (int)(acc >> 32) + sacc + n;
}

char _license[] SEC("license") = "GPL";
