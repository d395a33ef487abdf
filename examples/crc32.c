/* CRC-32 (IEEE 802.3, as zlib.crc32) of the input memory, bit by bit.
 *
 * uBPF calling convention: r1 = memory, r2 = its length; the result is r0.
 * Build: make -C examples   (clang -O2 -g -target bpf -c crc32.c -o crc32.o)
 * Run:   pybpf run examples/crc32.o --mem-file examples/hello.txt
 */
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

#define MAX_LEN 4096 /* a constant bound keeps the loop verifiable */

u64 crc32(const u8 *mem, u64 len)
{
    u32 crc = 0xffffffff;
    for (u64 i = 0; i < MAX_LEN; i++) {
        if (i >= len)
            break;
        crc ^= mem[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
    }
    return ~crc;
}
