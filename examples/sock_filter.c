/* sock_filter: a socket filter that keeps only TCP traffic to or from port 80.
 *
 * A socket filter returns how many bytes of the packet to keep: the whole
 * packet (skb->len) for HTTP segments over IPv4 or IPv6, 0 (drop) for the
 * rest.  It sees the packet from the network header on (the kernel has
 * pulled the Ethernet header; skb->protocol holds its EtherType), and reads
 * it with bpf_skb_load_bytes because socket filters have no direct packet
 * access.  IPv4 options are honoured; IPv6 extension headers are not walked.
 * `matched` (array, 1 entry) counts the kept packets.
 *
 * Build: make -C examples
 * Run:   pybpf test-run examples/sock_filter.o --pcap examples/traffic.pcap --json
 */
#include "common.h"

#define HTTP_PORT 80

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} matched SEC(".maps");

static __always_inline int is_http(struct __sk_buff *skb, __u32 l4_off)
{
    __be16 ports[2];

    if (bpf_skb_load_bytes(skb, l4_off, ports, sizeof(ports)) < 0)
        return 0;
    return ports[0] == bpf_htons(HTTP_PORT) || ports[1] == bpf_htons(HTTP_PORT);
}

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
    __u32 l4_off;

    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr ip;

        if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_TCP)
            return 0;
        l4_off = ip.ihl * 4;
    } else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr ip6;

        if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0 || ip6.nexthdr != IPPROTO_TCP)
            return 0;
        l4_off = sizeof(ip6);
    } else {
        return 0;
    }
    if (!is_http(skb, l4_off))
        return 0;

    __u32 zero = 0;
    __u64 *n = bpf_map_lookup_elem(&matched, &zero);
    if (n)
        __sync_fetch_and_add(n, 1);
    return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
