// Thread-block cluster vocabulary of the sliced fused kernels (sm_90, inline PTX): the CTA's rank
// in its cluster, one cluster-wide barrier with release/acquire ordering, and publishing a lane's
// C-fragment cells into the operand tile of every CTA of the cluster through distributed shared
// memory (`mapa` + `st.shared::cluster`).
#pragma once
#include "fused/fused_mma.cuh"

namespace flashrnn {
namespace fused {

__device__ __forceinline__ unsigned cluster_rank() {
    unsigned r;
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
    return r;
}

// Every thread of every CTA of the cluster arrives and waits. Release/acquire: the distributed
// shared-memory stores a thread made before it are visible to every thread after it.
__device__ __forceinline__ void cluster_barrier() {
    asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::: "memory");
}

// The 32-bit shared-window address of a generic pointer into this CTA's shared memory.
__device__ __forceinline__ unsigned shared_window_address(const void* p) {
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// Stores `value` at the same shared-memory offset as `local`, in the CTA of cluster rank `rank`.
__device__ __forceinline__ void store_to_rank(unsigned local, unsigned rank, unsigned value) {
    asm volatile("{ .reg .u32 a; mapa.shared::cluster.u32 a, %0, %1; st.shared::cluster.u32 [a], %2; }"
                 :: "r"(local), "r"(rank), "r"(value) : "memory");
}

// Writes this lane's four C-fragment cells v (features f0+g and f0+g+8, batch columns 2q and
// 2q+1; see fused_mma.cuh) at K index f0 + feature of the operand tile `tile` in all KS CTAs of
// the cluster. Lanes g and g^1 trade two values through one shuffle, so that every store is one
// 32-bit word holding two adjacent features: 2·KS stores per lane.
template <class S, class Tile, int KS>
__device__ __forceinline__ void publish_cells(unsigned* tile, int f0, const float (&v)[4]) {
    using M = MmaTraits<S>;
    static_assert(M::kPerWord == 2, "the sliced kernels exchange 16-bit operands");
    const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const bool even = (g & 1) == 0;
    const float got0 = __shfl_xor_sync(0xffffffffu, even ? v[2] : v[0], 4);
    const float got1 = __shfl_xor_sync(0xffffffffu, even ? v[3] : v[1], 4);
    // Even g: features (g, g+1) from (own e=0/1, partner's e=0/1); odd g: features (g+7, g+8)
    // from (partner's e=2/3, own e=2/3).
    const int k = f0 + (even ? g : g + 7);
    const unsigned w0 = even ? M::pack(v[0], got0) : M::pack(got0, v[2]);
    const unsigned w1 = even ? M::pack(v[1], got1) : M::pack(got1, v[3]);
    const unsigned a0 = shared_window_address(tile + 2 * q * Tile::kWordsPerColumn + (k >> 1));
    const unsigned a1 = a0 + Tile::kWordsPerColumn * 4;
#pragma unroll
    for (int r = 0; r < KS; ++r) {
        store_to_rank(a0, r, w0);
        store_to_rank(a1, r, w1);
    }
}

}  // namespace fused
}  // namespace flashrnn
