/* xdp_firewall: an XDP firewall that blocks IPv4 sources and counts protocols.
 *
 * - `blocked` (BTF hash, IPv4 source address -> struct block_entry): packets
 *   from a source in the map are dropped and counted in its entry.  A source
 *   that sends to TCP port 23 (telnet) is added to the map, so one probe
 *   blocks everything that host sends afterwards.
 * - `proto_stats` (per-CPU array indexed by IP protocol number): packets and
 *   bytes of every IPv4/IPv6 packet that passed.  Non-IP frames (ARP ...)
 *   pass uncounted.  One 802.1Q VLAN tag is skipped.
 *
 * Build: make -C examples
 * Run:   pybpf test-run examples/xdp_firewall.o --pcap examples/traffic.pcap
 *        pybpf map dump examples/xdp_firewall.o --after-run --prog xdp_firewall \
 *            --pcap examples/traffic.pcap
 */
#include "common.h"

#define TELNET_PORT 23

struct block_entry {
    __u64 packets; /* dropped packets from this source */
    __u64 bytes;
};

struct proto_counter {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32); /* IPv4 source address, network byte order */
    __type(value, struct block_entry);
} blocked SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32); /* IP protocol number */
    __type(value, struct proto_counter);
} proto_stats SEC(".maps");

static __always_inline void count(__u32 proto, __u64 len)
{
    struct proto_counter *c = bpf_map_lookup_elem(&proto_stats, &proto);

    if (c) { /* per-CPU: no other CPU touches this copy, no atomics needed */
        c->packets++;
        c->bytes += len;
    }
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 len = data_end - data;
    struct ethhdr *eth = data;
    void *l3;
    __u16 proto;

    if ((void *)(eth + 1) > data_end)
        return XDP_DROP; /* runt frame */
    proto = eth->h_proto;
    l3 = eth + 1;
    if (proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_hdr *vlan = l3;

        if ((void *)(vlan + 1) > data_end)
            return XDP_DROP;
        proto = vlan->encapsulated_proto;
        l3 = vlan + 1;
    }

    if (proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = l3;

        if ((void *)(ip6 + 1) > data_end)
            return XDP_DROP;
        count(ip6->nexthdr, len);
        return XDP_PASS;
    }
    if (proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    __u32 saddr = ip->saddr;
    struct block_entry *blk = bpf_map_lookup_elem(&blocked, &saddr);
    if (blk) {
        __sync_fetch_and_add(&blk->packets, 1);
        __sync_fetch_and_add(&blk->bytes, len);
        return XDP_DROP;
    }
    if (ip->protocol == IPPROTO_TCP && ip->ihl >= 5) {
        struct tcphdr *tcp = (void *)ip + ip->ihl * 4;

        if ((void *)(tcp + 1) > data_end)
            return XDP_DROP;
        if (tcp->dest == bpf_htons(TELNET_PORT)) {
            struct block_entry first = { .packets = 1, .bytes = len };

            bpf_map_update_elem(&blocked, &saddr, &first, BPF_NOEXIST);
            return XDP_DROP;
        }
    }
    count(ip->protocol, len);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
