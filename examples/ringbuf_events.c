/* ringbuf_events: an XDP program that emits one event per packet to a ring buffer.
 *
 * Each event (struct event) holds the frame length, the EtherType (after
 * one VLAN tag), and for IPv4 the protocol, addresses and TCP/UDP ports.
 * A packet whose event does not fit in `events` is counted in `lost`.
 * Every packet passes.
 *
 * Build: make -C examples
 * Run:   pybpf test-run examples/ringbuf_events.o --pcap examples/traffic.pcap
 *        pybpf map dump examples/ringbuf_events.o --map lost --after-run \
 *            --prog ringbuf_events --pcap examples/traffic.pcap
 */
#include "common.h"

struct event {
    __u32 len;
    __u16 ethertype; /* host byte order */
    __u8 ip_proto;   /* 0 when not IPv4 */
    __u8 pad;
    __u32 saddr;     /* network byte order */
    __u32 daddr;
    __u16 sport;     /* host byte order */
    __u16 dport;
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} lost SEC(".maps");

SEC("xdp")
int ringbuf_events(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct event *e;

    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        __u32 zero = 0;
        __u64 *n = bpf_map_lookup_elem(&lost, &zero);

        if (n)
            __sync_fetch_and_add(n, 1);
        return XDP_PASS;
    }
    __builtin_memset(e, 0, sizeof(*e));
    e->len = data_end - data;
    if ((void *)(eth + 1) > data_end)
        goto out;
    __u16 proto = eth->h_proto;
    void *l3 = eth + 1;
    if (proto == bpf_htons(ETH_P_8021Q)) {
        struct vlan_hdr *vlan = l3;

        if ((void *)(vlan + 1) > data_end)
            goto out;
        proto = vlan->encapsulated_proto;
        l3 = vlan + 1;
    }
    e->ethertype = bpf_ntohs(proto);
    if (proto != bpf_htons(ETH_P_IP))
        goto out;
    struct iphdr *ip = l3;
    if ((void *)(ip + 1) > data_end)
        goto out;
    e->ip_proto = ip->protocol;
    e->saddr = ip->saddr;
    e->daddr = ip->daddr;
    if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
        __be16 *ports = (void *)ip + ip->ihl * 4;

        if ((void *)(ports + 2) <= data_end) {
            e->sport = bpf_ntohs(ports[0]);
            e->dport = bpf_ntohs(ports[1]);
        }
    }
out:
    bpf_ringbuf_submit(e, 0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
