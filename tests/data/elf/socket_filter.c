// Socket filter: keep only IPv4 TCP, truncate to 96 bytes. Uses LD_ABS
// (the classic socket-filter packet access) and no maps at all.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

SEC("socket")
int tcp_only(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != ETH_P_IP)
		return 0;
	if (load_byte(skb, ETH_HLEN + 9) != IPPROTO_TCP)
		return 0;
	return 96;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x050a00;
