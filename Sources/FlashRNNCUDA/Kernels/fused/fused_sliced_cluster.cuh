// Thread-block cluster vocabulary of the sliced fused kernels (sm_90, inline PTX): the CTA's rank
// in its cluster, one cluster-wide barrier with release/acquire ordering, packing two lanes'
// C-fragment cells into an operand-tile word, and the cluster exchange policy that writes them into
// every CTA of the cluster through distributed shared memory (`mapa` + `st.shared::cluster`).
#pragma once
#include "fused/fused_mma.cuh"

// Clusters exist from sm_90 on. Below it the cluster kernels still compile (for any architecture a
// module is asked for) but trap if launched; the backend refuses them there and the catalog's
// compile-kernels skips them.
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

// The 32-bit operand word of this lane's value v and lane g^1's (the adjacent feature of the same
// batch column in a C fragment): the even feature in the lower half. Both lanes get the same word.
template <class S>
__device__ __forceinline__ unsigned pack_feature_pair(float v) {
    using M = MmaTraits<S>;
    static_assert(M::kPerWord == 2, "the sliced kernels exchange 16-bit operands");
    const float partner = __shfl_xor_sync(0xffffffffu, v, 4);
    return ((threadIdx.x >> 2) & 1) == 0 ? M::pack(v, partner) : M::pack(partner, v);
}

// The word of an operand tile holding K index k (and k ^ 1) of batch column `column`.
template <class Tile>
__device__ __forceinline__ int operand_word(int column, int k) { return column * Tile::kWordsPerColumn + (k >> 1); }

// How the KS CTAs of one head exchange their slices of h_t (backward: dG_t) in a thread-block
// cluster: the lanes write their words into buffer `buffer` of the tile pair `tiles` in every CTA
// of the cluster (distributed shared memory), then one cluster barrier completes it.
template <int KS>
struct ClusterExchange {
    static_assert(KS <= 16, "a cluster holds at most 16 CTAs");
    __device__ __forceinline__ int rank() const { return (int)cluster_rank(); }
    // Every CTA of the cluster must be running before a peer writes into its shared memory.
    __device__ __forceinline__ void start() const { cluster_barrier(); }

    // One packed word that lanes g and g^1 both hold (`half` = g & 1): each stores it into half
    // of the cluster's CTAs, the ranks of its parity.
    template <class Tile>
    __device__ __forceinline__ void publish_word(unsigned* tiles, int buffer, int word, unsigned value, int half) const {
        const unsigned address = shared_window_address(tiles + buffer * Tile::kWords + word);
#pragma unroll
        for (int r = 0; r < KS; r += 2)
            if (r + half < KS) store_to_rank(address, r + half, value);
    }

    // Nobody reads `buffer` before this barrier; every CTA finished reading its previous contents
    // (two steps ago) before the previous barrier, which this CTA has passed.
    template <class Tile>
    __device__ __forceinline__ void complete(unsigned*, int) const { cluster_barrier(); }
};

}  // namespace fused
}  // namespace flashrnn
