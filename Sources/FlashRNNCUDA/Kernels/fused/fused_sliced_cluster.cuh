// Thread-block cluster vocabulary of the sliced fused kernels (sm_90, inline PTX): the CTA's rank
// in its cluster, one cluster-wide barrier with release/acquire ordering, packing a lane's
// C-fragment cells into operand-tile words, and the cluster exchange policy that writes them into
// every CTA of the cluster through distributed shared memory (`mapa` + `st.shared::cluster`).
#pragma once
#include "fused/fused_mma.cuh"

// Clusters exist from sm_90 on. Below it the cluster kernels still compile (the catalog builds every
// variant for every architecture) but trap if launched; the backend refuses them there first.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define FLASHRNN_CLUSTER_PTX(...) __trap()
#else
#define FLASHRNN_CLUSTER_PTX(...) __VA_ARGS__
#endif

namespace flashrnn {
namespace fused {

__device__ __forceinline__ unsigned cluster_rank() {
    unsigned r = 0;
    FLASHRNN_CLUSTER_PTX(asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r)));
    return r;
}

// Every thread of every CTA of the cluster arrives and waits. Release/acquire: the distributed
// shared-memory stores a thread made before it are visible to every thread after it.
__device__ __forceinline__ void cluster_barrier() {
    FLASHRNN_CLUSTER_PTX(asm volatile("barrier.cluster.arrive.release.aligned;\n\tbarrier.cluster.wait.acquire.aligned;" ::: "memory"));
}

// The 32-bit shared-window address of a generic pointer into this CTA's shared memory.
__device__ __forceinline__ unsigned shared_window_address(const void* p) {
    unsigned a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// Stores `value` at the same shared-memory offset as `local`, in the CTA of cluster rank `rank`.
__device__ __forceinline__ void store_to_rank(unsigned local, unsigned rank, unsigned value) {
    FLASHRNN_CLUSTER_PTX(asm volatile("{ .reg .u32 a; mapa.shared::cluster.u32 a, %0, %1; st.shared::cluster.u32 [a], %2; }"
                                      :: "r"(local), "r"(rank), "r"(value) : "memory"));
}

// Packs this lane's four C-fragment cells v (features f0+g and f0+g+8, batch columns 2q and
// 2q+1; see fused_mma.cuh) for K index f0 + feature of an operand tile and hands `store` two
// (word index in the tile, word) pairs. Lanes g and g^1 trade two values through one shuffle, so
// that every word holds two adjacent features.
template <class S, class Tile, class Store>
__device__ __forceinline__ void pack_cells(int f0, const float (&v)[4], Store store) {
    using M = MmaTraits<S>;
    static_assert(M::kPerWord == 2, "the sliced kernels exchange 16-bit operands");
    const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const bool even = (g & 1) == 0;
    const float got0 = __shfl_xor_sync(0xffffffffu, even ? v[2] : v[0], 4);
    const float got1 = __shfl_xor_sync(0xffffffffu, even ? v[3] : v[1], 4);
    // Even g: features (g, g+1) from (own e=0/1, partner's e=0/1); odd g: features (g+7, g+8)
    // from (partner's e=2/3, own e=2/3).
    const int k = f0 + (even ? g : g + 7);
    const int word = 2 * q * Tile::kWordsPerColumn + (k >> 1);
    store(word, even ? M::pack(v[0], got0) : M::pack(got0, v[2]));
    store(word + Tile::kWordsPerColumn, even ? M::pack(v[1], got1) : M::pack(got1, v[3]));
}

// How the KS CTAs of one head exchange their slices of h_t (backward: dG_t) in a thread-block
// cluster: every lane writes its words into buffer `buffer` of the tile pair `tiles` in every CTA
// of the cluster (2·KS distributed shared-memory stores), then one cluster barrier completes it.
template <int KS>
struct ClusterExchange {
    static_assert(KS <= 16, "a cluster holds at most 16 CTAs");
    __device__ __forceinline__ int rank() const { return (int)cluster_rank(); }
    // Every CTA of the cluster must be running before a peer writes into its shared memory.
    __device__ __forceinline__ void start() const { cluster_barrier(); }

    template <class S, class Tile>
    __device__ __forceinline__ void publish(unsigned* tiles, int buffer, int f0, const float (&v)[4]) const {
        const unsigned base = shared_window_address(tiles + buffer * Tile::kWords);
        pack_cells<S, Tile>(f0, v, [&](int word, unsigned value) {
#pragma unroll
            for (int r = 0; r < KS; ++r) store_to_rank(base + 4 * word, r, value);
        });
    }

    // Nobody reads `buffer` before this barrier; every CTA finished reading its previous contents
    // (two steps ago) before the previous barrier, which this CTA has passed.
    template <class Tile>
    __device__ __forceinline__ void complete(unsigned*, int) const { cluster_barrier(); }
};

}  // namespace fused
}  // namespace flashrnn
