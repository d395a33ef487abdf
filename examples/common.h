/* Shared packet-parsing definitions for the pybpf examples.
 *
 * Plain structs with fixed layouts (no kernel headers beyond <linux/bpf.h>
 * and the uapi ones), so every example builds with clang -target bpf alone.
 */
#ifndef PYBPF_EXAMPLES_COMMON_H
#define PYBPF_EXAMPLES_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif

struct vlan_hdr {
    __be16 tci;
    __be16 encapsulated_proto;
};

#endif
