// tc: csum_diff, skb_change_tail, skb_vlan_push/pop and ctx fields, results in an array map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 12); __type(key, __u32); __type(value, __s64); } out SEC(".maps");

static __always_inline void put(__u32 k, __s64 v) { bpf_map_update_elem(&out, &k, &v, BPF_ANY); }

SEC("tc")
int tc_misc(struct __sk_buff *skb) {
    __u32 from[2] = {0x01020304, 0x05060708}, to[3] = {0x0a0b0c0d, 0, 0xffffffff};
    put(0, bpf_csum_diff(from, 8, to, 12, 0x1234));
    put(1, bpf_csum_diff(from, 3, to, 4, 0));           /* -EINVAL: not a multiple of 4 */
    put(2, skb->protocol | (__u64)skb->pkt_type << 32);
    put(3, skb->len | (__u64)skb->ifindex << 32);
    put(4, bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 7));
    put(5, skb->vlan_present | (__u64)skb->vlan_tci << 8 | (__u64)skb->vlan_proto << 32);
    put(6, bpf_skb_vlan_push(skb, bpf_htons(0x1234), 7));  /* -EINVAL: not a VLAN protocol */
    __u32 len = skb->len;
    put(7, bpf_skb_change_tail(skb, len + 3, 0));
    put(8, bpf_skb_change_tail(skb, 5, 0));             /* below the network header */
    put(9, skb->len | (__u64)skb->wire_len << 32);
    put(10, bpf_skb_vlan_pop(skb));
    put(11, skb->vlan_present);
    return TC_ACT_PIPE;
}

char LICENSE[] SEC("license") = "GPL";
