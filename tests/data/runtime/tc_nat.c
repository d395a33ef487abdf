// tc: rewrite the IPv4 destination and UDP/TCP destination port, fixing checksums with
// bpf_l3_csum_replace/bpf_l4_csum_replace; set mark and priority; count in a map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } hits SEC(".maps");

#define IP_OFF ETH_HLEN
#define NEW_DST 0x0a000063  /* 10.0.0.99 */

SEC("tc")
int tc_nat(struct __sk_buff *skb) {
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + IP_OFF;
    if ((void *)(ip + 1) > end) return TC_ACT_OK;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5) return TC_ACT_OK;
    __u32 proto = ip->protocol, old_dst = ip->daddr, new_dst = bpf_htonl(NEW_DST);
    __u32 l4 = IP_OFF + sizeof(*ip);
    __u32 csum_off;
    if (proto == IPPROTO_UDP) csum_off = l4 + offsetof(struct udphdr, check);
    else if (proto == IPPROTO_TCP) csum_off = l4 + offsetof(struct tcphdr, check);
    else return TC_ACT_UNSPEC;
    __u16 old_port, new_port = bpf_htons(8080);
    if (bpf_skb_load_bytes(skb, l4 + 2, &old_port, 2)) return TC_ACT_SHOT;
    __u32 flags = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
    bpf_l4_csum_replace(skb, csum_off, old_dst, new_dst, flags | BPF_F_PSEUDO_HDR | 4);
    bpf_l4_csum_replace(skb, csum_off, old_port, new_port, flags | 2);
    bpf_l3_csum_replace(skb, IP_OFF + offsetof(struct iphdr, check), old_dst, new_dst, 4);
    bpf_skb_store_bytes(skb, IP_OFF + offsetof(struct iphdr, daddr), &new_dst, 4, 0);
    bpf_skb_store_bytes(skb, l4 + 2, &new_port, 2, 0);
    skb->mark = 0x42;
    skb->priority = 7;
    skb->cb[1] = skb->len;
    __u64 one = 1, *c = bpf_map_lookup_elem(&hits, &proto);
    if (c) __sync_fetch_and_add(c, 1); else bpf_map_update_elem(&hits, &proto, &one, BPF_ANY);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
