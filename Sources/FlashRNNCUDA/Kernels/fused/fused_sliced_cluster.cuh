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

// How a cluster completes a step's exchange (a template argument of the cluster kernels;
// FusedSlicedVariant.ClusterSync names them):
// * kSyncBarrier: one `barrier.cluster.arrive.release` + `wait.acquire` after the step's stores;
//   the release fence waits for every memory operation the thread issued before it, the step's
//   global output stores and next-step loads included.
// * kSyncSplitBarrier: the same barrier split: arrive right after the publishing stores, the
//   step's global outputs and next-step loads between arrive and wait (outside the fence).
// * kSyncMbarrier: no cluster barrier in the loop: the words go out as `st.async` stores that
//   count their bytes on the receiving CTA's mbarrier of that buffer, and a CTA waits only for
//   its own buffer to be complete (acquire at cluster scope); no fence over global memory.
constexpr int kSyncBarrier = 0, kSyncSplitBarrier = 1, kSyncMbarrier = 2;

// Two mbarriers (one per tile buffer) of the kSyncMbarrier exchange: 8 bytes each, at the end of
// the sweep's shared memory.
constexpr int kExchangeSyncBytes = 16;

__device__ __forceinline__ void mbarrier_init(unsigned address, unsigned count) {
    FLASHRNN_CLUSTER_PTX(asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"(address), "r"(count) : "memory"));
}

// The local thread's one arrival of a phase, announcing `bytes` that st.async stores will bring.
__device__ __forceinline__ void mbarrier_arrive_expect(unsigned address, unsigned bytes) {
    FLASHRNN_CLUSTER_PTX(asm volatile("mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%0], %1;"
                                      :: "r"(address), "r"(bytes) : "memory"));
}

// Waits until the phase of parity `parity` completed; acquire at cluster scope, so the peers'
// st.async data (released by their complete-tx) is visible after it.
__device__ __forceinline__ void mbarrier_wait_cluster(unsigned address, unsigned parity) {
    FLASHRNN_CLUSTER_PTX(asm volatile("{\n\t.reg .pred done;\n"
                                      "wait_%=:\n\t"
                                      "mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 done, [%0], %1;\n\t"
                                      "@!done bra wait_%=;\n\t}"
                                      :: "r"(address), "r"(parity) : "memory"));
}

// Stores `value` at the shared offset `local` of the CTA of cluster rank `rank` and counts its 4
// bytes on that CTA's mbarrier at the shared offset `barrier`.
__device__ __forceinline__ void store_async_to_rank(unsigned local, unsigned barrier, unsigned rank, unsigned value) {
    FLASHRNN_CLUSTER_PTX(asm volatile("{ .reg .u32 a, m; mapa.shared::cluster.u32 a, %0, %2; mapa.shared::cluster.u32 m, %1, %2;\n\t"
                                      "st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [a], %3, [m]; }"
                                      :: "r"(local), "r"(barrier), "r"(rank), "r"(value) : "memory"));
}

// How the KS CTAs of one head exchange their slices of h_t (backward: dG_t) in a thread-block
// cluster: the lanes write their words into buffer `buffer` of the tile pair `tiles` in every CTA
// of the cluster (distributed shared memory), then `arrive` and `complete` finish the step in the
// form SYNC names. Protocol of a sweep: start(sync words), then per step publish_word…, arrive(),
// the step's global stores, complete(); finish() before the kernel ends.
// Measuring (FLASHRNN_FUSED_CLUSTER_FW=2, FusedSlicedVariant): a forward kernel's SYNC argument
// kSyncMbarrier + 2 · kForwardWaitStride issues the forward sweep's Wx loads at the step's start
// (the place before round fwcluster) instead of after publishing.
constexpr int kForwardWaitStride = 8;

template <int KS, int SYNC_ARGUMENT = kSyncBarrier>
struct ClusterExchange {
    static constexpr int SYNC = SYNC_ARGUMENT % kForwardWaitStride;
    static_assert(SYNC_ARGUMENT / kForwardWaitStride == 0 || SYNC_ARGUMENT == kSyncMbarrier + 2 * kForwardWaitStride,
                  "the forward's Wx placement switch is 2 and needs the mbarrier exchange");
    static constexpr bool kForwardLoadsAtStart = SYNC_ARGUMENT / kForwardWaitStride == 2;
    static_assert(KS <= 16, "a cluster holds at most 16 CTAs");
    static_assert(SYNC == kSyncBarrier || SYNC == kSyncSplitBarrier || SYNC == kSyncMbarrier, "unknown cluster sync");
    // Whether `arrive` fences the thread's earlier memory operations (so loads meant to overlap
    // the wait belong after it).
    static constexpr bool kArriveFences = SYNC == kSyncSplitBarrier;
    // kSyncMbarrier: a peer may write a buffer as soon as it has this CTA's next words, with no
    // barrier in between; the sweep must pass a CTA barrier between the last reads of a buffer
    // and publishing into the other one (the K split's barrier does).
    static constexpr bool kNeedsCtaBarrierBeforePublish = SYNC == kSyncMbarrier;
    // Copies of the K split's partial sums the sweep keeps, used by step parity. With a cluster
    // barrier per step, a warp rewrites the one copy only after every warp of the CTA passed that
    // barrier, after reading it. Without one (kSyncMbarrier), a fast warp passes its own wait as
    // soon as the buffer's bytes are in, and the only thing that kept it from overwriting sums a
    // slower warp had yet to read was that the slower warp's reads feed the words the wait
    // counts: a data dependency, not an ordering the memory model (or racecheck) knows. Two
    // copies put the CTA barrier of the step in between: copy t & 1 is written again in step
    // t ± 2, after every warp passed step t ± 1's CTA barrier, which it reaches after its reads.
    static constexpr int kPartialSumBuffers = SYNC == kSyncMbarrier ? 2 : 1;
    unsigned barriers = 0;     // shared offset of the two mbarriers (kSyncMbarrier)
    unsigned parities = 0;     // bit b: the parity of buffer b's phase being filled
    unsigned phaseBytes = 0;   // st.async bytes that complete one buffer

    __device__ __forceinline__ int rank() const { return (int)cluster_rank(); }

    // Every CTA of the cluster must be running (and its mbarriers armed) before a peer writes
    // into its shared memory. `syncWords`: kExchangeSyncBytes of shared memory; `tileWords`: the
    // payload words of one buffer (every word of the tile but its row padding).
    __device__ __forceinline__ void start(unsigned long long* syncWords, int tileWords) {
        if constexpr (SYNC == kSyncMbarrier) {
            barriers = shared_window_address(syncWords);
            phaseBytes = 4u * (unsigned)tileWords;
            if (threadIdx.x == 0) {
                mbarrier_init(barriers, 1);
                mbarrier_init(barriers + 8, 1);
            }
            // The compiler issues thread 0's init as a warp-wide (uniform) instruction, which
            // racecheck attributes to another lane than the arrive below: the CTA barrier orders
            // the two for it (once per launch).
            __syncthreads();
            if (threadIdx.x == 0) {
                mbarrier_arrive_expect(barriers, phaseBytes);
                mbarrier_arrive_expect(barriers + 8, phaseBytes);
                FLASHRNN_CLUSTER_PTX(asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory"));
            }
        }
        cluster_barrier();
    }

    // One packed word that lanes g and g^1 both hold (`half` = g & 1): each stores it into half
    // of the cluster's CTAs, the ranks of its parity.
    template <class Tile>
    __device__ __forceinline__ void publish_word(unsigned* tiles, int buffer, int word, unsigned value, int half) const {
        const unsigned address = shared_window_address(tiles + buffer * Tile::kWords + word);
#pragma unroll
        for (int r = 0; r < KS; r += 2) {
            if (r + half < KS) {
                if constexpr (SYNC == kSyncMbarrier) store_async_to_rank(address, barriers + 8 * buffer, r + half, value);
                else store_to_rank(address, r + half, value);
            }
        }
    }

    __device__ __forceinline__ void arrive() const {
        if constexpr (SYNC == kSyncSplitBarrier)
            FLASHRNN_CLUSTER_PTX(asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory"));
    }

    // Nobody reads `buffer` before this; every CTA finished reading its previous contents (two
    // steps ago) before publishing the words that let this CTA get here.
    // kSyncMbarrier, ONE_WAITER false: every thread waits with an acquire at cluster scope.
    // ONE_WAITER true: one thread (lane 0 of the last warp) waits, the CTA passes a barrier that
    // orders every other thread's reads after its acquire. An acquire at cluster scope compiles
    // to an L1 invalidation (CCTL.IVALL) that first waits for the thread's own loads in flight,
    // so a sweep that loads its next step's inputs before the wait (the backward: pre-activations,
    // states, dStates) waited for them in the step that issued them (21 % of the stall samples of
    // the LSTM bf16 128 × 6 backward on 8 CTAs, ncu). The last warp runs no cells in the sweeps
    // with KW = 8 and so has none of those loads. The forward keeps every thread waiting: one
    // waiter made it slower (H200, seventh session: 128 × 6 0.751 → 0.897 ms forward, while the
    // backward gained 0.37 ms; eighth session, round fwcluster: 0.75 → 0.91, 64 × 12
    // 0.63 → 0.66). Its CCTL.IVALL waits on the try_wait's scoreboard alone (control bits of the
    // SASS; the Wx loads use another), so those long_sb stalls are mostly the peers' data arriving;
    // the forward's gain was moving its Wx loads after publishing (fused_sliced_forward.cuh).
    template <class Tile, bool ONE_WAITER = false>
    __device__ __forceinline__ void complete(unsigned*, int buffer) {
        if constexpr (SYNC == kSyncBarrier) {
            cluster_barrier();
        } else if constexpr (SYNC == kSyncSplitBarrier) {
            FLASHRNN_CLUSTER_PTX(asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory"));
        } else {
            const unsigned barrier = barriers + 8 * buffer;
            const bool waits = !ONE_WAITER || threadIdx.x == blockDim.x - 32;
            if (waits) mbarrier_wait_cluster(barrier, (parities >> buffer) & 1u);
            // The buffer's next phase: one arrival and the bytes it expects. Peers write the next
            // phase only after this CTA's next words, which every thread of the CTA publishes
            // after passing this wait (and the sweep's CTA barrier or the one below).
            if (threadIdx.x == (ONE_WAITER ? blockDim.x - 32 : 0)) mbarrier_arrive_expect(barrier, phaseBytes);
            parities ^= 1u << buffer;
            if constexpr (ONE_WAITER) __syncthreads();
        }
    }

    // No CTA leaves while a peer may still address its shared memory.
    __device__ __forceinline__ void finish() const {
        if constexpr (SYNC != kSyncBarrier) cluster_barrier();
    }
};

}  // namespace fused
}  // namespace flashrnn
