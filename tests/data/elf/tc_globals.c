// tc classifier with global data: .rodata constants (const volatile, set by
// the loader before load), .data and .bss globals, a custom .data.* section
// and a .rodata.* string. Every access is an LD_IMM64 map-value relocation.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 drop_mark = 0xdead;
const volatile __u64 max_len = 1500;
__u32 mark_value = 42;
__u64 seen_bytes[4] = { 1, 2, 3, 4 };
__u64 packets_seen;
__u32 last_len;
__u32 custom_counter SEC(".data.custom") = 7;

SEC("tc")
int classify(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&packets_seen, 1);
	last_len = skb->len;
	seen_bytes[skb->len & 3] += skb->len;
	custom_counter++;
	if (skb->len > max_len) {
		bpf_printk("too long: %u", skb->len);
		skb->mark = drop_mark;
		return TC_ACT_SHOT;
	}
	skb->mark = mark_value;
	return TC_ACT_OK;
}

SEC("tc/egress")
int classify_egress(struct __sk_buff *skb)
{
	return skb->mark == drop_mark ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("action")
int act(struct __sk_buff *skb)
{
	return mark_value == 42 ? TC_ACT_OK : TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
