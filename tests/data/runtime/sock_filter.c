// socket filter: keep the first 64 bytes of UDP packets, drop everything else; count lengths.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } seen SEC(".maps");

SEC("socket")
int sock_filter(struct __sk_buff *skb) {
    __u8 proto;
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&seen, &k);
    if (v) *v += skb->len;
    k = 1;
    v = bpf_map_lookup_elem(&seen, &k);
    if (v) *v += skb->protocol;
    if (bpf_skb_load_bytes(skb, offsetof(struct iphdr, protocol), &proto, 1)) return 0;
    if (proto != IPPROTO_UDP) return 0;
    return 64;
}

char LICENSE[] SEC("license") = "GPL";
