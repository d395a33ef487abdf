/* tc_rewrite: a tc classifier that rewrites IPv4 headers and fixes checksums.
 *
 * - Every IPv4 UDP packet gets DSCP EF (46), keeping its ECN bits; the IP
 *   header checksum is patched with bpf_l3_csum_replace.
 * - TCP segments to port 8080 are redirected to port 80; the TCP checksum is
 *   patched with bpf_l4_csum_replace.
 * `rewrites` (array: 0 = DSCP rewrites, 1 = port rewrites) counts them.
 * Every packet is returned with TC_ACT_OK; IPv6 and non-IP pass unchanged.
 *
 * Build: make -C examples
 * Run:   pybpf test-run examples/tc_rewrite.o --pcap examples/traffic.pcap --out /tmp/out.pcap
 */
#include "common.h"
#include <linux/pkt_cls.h>
#include <stddef.h>

#define DSCP_EF 46
#define FROM_PORT 8080
#define TO_PORT 80
#define IP_OFF ETH_HLEN

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} rewrites SEC(".maps");

static __always_inline void bump(__u32 which)
{
    __u64 *n = bpf_map_lookup_elem(&rewrites, &which);

    if (n)
        __sync_fetch_and_add(n, 1);
}

SEC("tc")
int tc_rewrite(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);

    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    __u32 ihl = ip->ihl * 4;
    if (ihl < sizeof(*ip))
        return TC_ACT_OK;

    if (ip->protocol == IPPROTO_UDP) {
        /* TOS is the second byte of the first 16-bit word of the header:
         * the checksum is patched over that whole word. */
        __be16 old_word = *(__be16 *)ip;
        __u8 tos = (DSCP_EF << 2) | (ip->tos & 3);
        __be16 new_word = bpf_htons((__u16)(ip->version << 12 | ip->ihl << 8 | tos));

        if (old_word != new_word) {
            bpf_l3_csum_replace(skb, IP_OFF + offsetof(struct iphdr, check), old_word, new_word,
                                sizeof(new_word));
            bpf_skb_store_bytes(skb, IP_OFF, &new_word, sizeof(new_word), 0);
            bump(0);
        }
        return TC_ACT_OK;
    }
    if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = (void *)ip + ihl;

        if ((void *)(tcp + 1) > data_end || tcp->dest != bpf_htons(FROM_PORT))
            return TC_ACT_OK;
        __be16 old_port = tcp->dest;
        __be16 new_port = bpf_htons(TO_PORT);
        __u32 l4 = IP_OFF + ihl;

        /* The port is covered by the TCP checksum but not the pseudo-header. */
        bpf_l4_csum_replace(skb, l4 + offsetof(struct tcphdr, check), old_port, new_port,
                            sizeof(new_port));
        bpf_skb_store_bytes(skb, l4 + offsetof(struct tcphdr, dest), &new_port, sizeof(new_port), 0);
        bump(1);
    }
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
