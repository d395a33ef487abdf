// XDP: adjust_head/tail/meta. Encapsulate (push 4 bytes after the MACs) when the first payload
// byte is 1, trim 4 bytes off the tail when it is 2, grow by 8 when 3, use metadata when 4.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __s64); } rets SEC(".maps");

SEC("xdp")
int xdp_adjust(struct xdp_md *ctx) {
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 15 > end) return XDP_ABORTED;
    __u8 op = ((__u8 *)data)[14];
    long ret = 0;
    __u32 k = 0;
    if (op == 1) {
        ret = bpf_xdp_adjust_head(ctx, -4);
        if (ret) goto out;
        data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;
        if (data + 18 > end) return XDP_ABORTED;
        __builtin_memmove(data, data + 4, 12);
        ((__u8 *)data)[12] = 0x81; ((__u8 *)data)[13] = 0x00;
        ((__u8 *)data)[14] = 0x00; ((__u8 *)data)[15] = 0x2a;
    } else if (op == 2) {
        ret = bpf_xdp_adjust_tail(ctx, -4);
    } else if (op == 3) {
        ret = bpf_xdp_adjust_tail(ctx, 8);
        if (ret) goto out;
        data = (void *)(long)ctx->data; end = (void *)(long)ctx->data_end;
        if (data + 16 > end) return XDP_ABORTED;
        ((__u8 *)data)[15] = 0xee;
    } else if (op == 4) {
        ret = bpf_xdp_adjust_meta(ctx, -8);
        if (ret) goto out;
        void *meta = (void *)(long)ctx->data_meta;
        data = (void *)(long)ctx->data;
        if (meta + 8 > data) return XDP_ABORTED;
        *(__u64 *)meta = 0x1122334455667788ULL;
    } else if (op == 5) {
        ret = bpf_xdp_adjust_head(ctx, 10000);  // fails with -EINVAL
    }
    bpf_ringbuf_output(&events, &op, 1, 0);
out:
    bpf_map_update_elem(&rets, &k, &ret, BPF_ANY);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
