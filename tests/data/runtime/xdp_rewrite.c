// XDP: parse Ethernet/IPv4/UDP, count per protocol (hash, array, percpu, lru),
// swap MACs and decrement the TTL (fixing the IP checksum) for UDP, drop TCP to port 9.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64); } by_proto SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } bytes SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u32); } last_len SEC(".maps");

static __always_inline void bump(__u32 k) {
    __u64 *v = bpf_map_lookup_elem(&stats, &k);
    if (v) __sync_fetch_and_add(v, 1);
}

SEC("xdp")
int xdp_rewrite(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end) { bump(0); return XDP_ABORTED; }
    __u32 k0 = 0;
    __u64 *b = bpf_map_lookup_elem(&bytes, &k0);
    if (b) *b += end - data;
    if (eth->h_proto != bpf_htons(ETH_P_IP)) { bump(1); return XDP_PASS; }
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end) return XDP_DROP;
    __u32 proto = ip->protocol;
    __u64 one = 1, *cnt = bpf_map_lookup_elem(&by_proto, &proto);
    if (cnt) (*cnt)++; else bpf_map_update_elem(&by_proto, &proto, &one, BPF_NOEXIST);
    __u32 saddr = ip->saddr, len = bpf_ntohs(ip->tot_len);
    bpf_map_update_elem(&last_len, &saddr, &len, BPF_ANY);
    if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = (void *)(ip + 1);
        if ((void *)(tcp + 1) > end) return XDP_DROP;
        if (tcp->dest == bpf_htons(9)) { bump(2); return XDP_DROP; }
        return XDP_PASS;
    }
    if (ip->protocol != IPPROTO_UDP) return XDP_PASS;
    unsigned char tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
    // TTL is the high byte of the 16-bit word at offset 8: incremental update (RFC 1624)
    __u32 csum = (__u16)~ip->check;
    csum += (__u16)~bpf_htons(ip->ttl << 8);
    ip->ttl--;
    csum += bpf_htons(ip->ttl << 8);
    csum = (csum & 0xffff) + (csum >> 16);
    csum = (csum & 0xffff) + (csum >> 16);
    ip->check = ~csum;
    bump(3);
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
