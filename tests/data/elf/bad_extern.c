// Error fixture: a __kconfig extern, which needs libbpf's extern resolution
// (relocation against an undefined symbol).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern unsigned int LINUX_KERNEL_VERSION __kconfig;

SEC("socket")
int version_gate(void *skb)
{
	return LINUX_KERNEL_VERSION > 0x050a00;
}

char _license[] SEC("license") = "GPL";
