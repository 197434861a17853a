// The grid exchange policy of the sliced fused kernels, for a head beyond one cluster: the KS CTAs
// of one (head, batch slice) sit anywhere on the device (all co-resident: cooperative launch) and
// exchange h_t (backward: dG_t) through global memory, by one of two protocols (the grid kernels'
// template argument PROTOCOL; GridExchangeProtocol in Swift, FLASHRNN_FUSED_GRID_EXCHANGE):
// * counter: each lane writes its words into the group's global copy of the tile buffer; the group
//   then meets at a barrier on a global arrival counter (the pattern of a grid barrier, for KS
//   CTAs), and every CTA copies the completed buffer from L2 into its own shared-memory tile. On
//   every step's critical path: a fence, an atomic round trip, the spin, a second L2 round trip and
//   three CTA barriers.
// * tagged: each word travels with its step's tag in one 64-bit store (single-copy atomic, so a
//   reader that sees the tag sees the word); every CTA polls its share of the tile's words until
//   each carries the step's tag, writes them into its shared tile and passes one CTA barrier. No
//   fence, no atomic, one L2 round trip when the peers are on time. Its first form, which waited on
//   one piece at a time, measured three times slower than counter at 768 × 1 (round gridll,
//   docs/performance-fused.md); the parallel re-poll below has not been on the GPU yet.
#pragma once
#include "fused/fused_sliced_cluster.cuh"

namespace flashrnn {
namespace fused {

typedef FlashRNNGridExchangeParams GridExchangeParams;

// The protocols (GridExchangeProtocol.templateValue in Swift).
constexpr int kGridCounter = 0, kGridTagged = 1;

__device__ __forceinline__ unsigned load_acquire_gpu(const unsigned* p) {
    unsigned v;
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
    return v;
}

// Starts an asynchronous 16-byte copy from L2 (.cg bypasses L1, which is not coherent with other
// SMs' writes) into shared memory; no register holds the data, so every copy of a thread is in
// flight at once (a load-then-store loop waited one L2 round trip per 16 bytes: ~40 µs per
// backward step at D = 768).
__device__ __forceinline__ void copy_from_l2_async(unsigned sharedAddress, const void* global) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" :: "r"(sharedAddress), "l"(global) : "memory");
}

__device__ __forceinline__ void wait_async_copies() { asm volatile("cp.async.wait_all;" ::: "memory"); }

// One (word, tag) pair as a single 64-bit store at GPU scope: relaxed, so it neither waits for nor
// orders anything; its single-copy atomicity is the whole protocol.
__device__ __forceinline__ void store_tagged_word(unsigned long long* p, unsigned word, unsigned tag) {
    const unsigned long long v = ((unsigned long long)tag << 32) | word;
    asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
}

// Two adjacent (word, tag) pairs, each read single-copy atomically at GPU scope (from L2: a
// relaxed GPU-scope load does not hit the SM's L1). Volatile: a spin reissues it.
__device__ __forceinline__ ulonglong2 load_tagged_pair(const unsigned long long* p) {
    ulonglong2 v;
    asm volatile("ld.relaxed.gpu.global.v2.u64 {%0, %1}, [%2];" : "=l"(v.x), "=l"(v.y) : "l"(p));
    return v;
}

// kThreads: the CTA's threads, which share the polling of the tagged protocol.
template <int KS, int kThreads, int PROTOCOL>
struct GridExchange {
    static_assert(PROTOCOL == kGridCounter || PROTOCOL == kGridTagged, "unknown grid exchange protocol");
    unsigned* exchange;              // counter: this group's [2, tile words] 32-bit words
    unsigned long long* pairs;       // tagged: the same words as [2, tile words] (word, tag) pairs
    unsigned* arrivals;              // counter: this group's counter, zero at launch
    unsigned phase = 0;              // counter: barriers passed (thread 0 only)
    // tagged: the tag of the words the next complete() waits for and the lanes publish until then:
    // 1 for the first exchange of the sweep, one more per step, never 0 (the buffers are zeroed at
    // allocation, FusedSweepPlan, so no word of this launch's buffers matches a tag before it is
    // written in this launch).
    unsigned tag = 1;

    __device__ __forceinline__ explicit GridExchange(const GridExchangeParams& x, int tileWords) {
        const int group = blockIdx.y * (gridDim.x / KS) + blockIdx.x / KS;
        exchange = reinterpret_cast<unsigned*>(x.exchange) + (long long)group * 2 * tileWords;
        pairs = reinterpret_cast<unsigned long long*>(x.exchange) + (long long)group * 2 * tileWords;
        arrivals = reinterpret_cast<unsigned*>(x.arrivals) + group;
    }
    static constexpr bool kArriveFences = false;
    static constexpr bool kNeedsCtaBarrierBeforePublish = false;
    static constexpr bool kForwardLoadsAtStart = false;   // Wx loads' place: the sweep's policy
    static constexpr int kPartialSumBuffers = 1;   // complete() holds a CTA barrier
    // tagged: 16-byte polls a thread holds in flight at once (registers: 4 each).
    static constexpr int kPollBatch = 8;
    __device__ __forceinline__ int rank() const { return blockIdx.x % KS; }
    __device__ __forceinline__ void start(unsigned long long*, int) const {}
    __device__ __forceinline__ void arrive() const {}
    __device__ __forceinline__ void finish() const {}

    // One packed word that lanes g and g^1 both hold (`half` = g & 1): the group's global copy
    // needs it once.
    template <class Tile>
    __device__ __forceinline__ void publish_word(unsigned*, int buffer, int word, unsigned value, int half) const {
        if (half != 0) return;
        if constexpr (PROTOCOL == kGridTagged) store_tagged_word(pairs + buffer * Tile::kWords + word, value, tag);
        else exchange[buffer * Tile::kWords + word] = value;
    }

    template <class Tile, bool ONE_WAITER = false>   // (ClusterExchange's choice; every thread takes part here)
    __device__ __forceinline__ void complete(unsigned* tiles, int buffer) {
        if constexpr (PROTOCOL == kGridTagged) complete_tagged<Tile>(tiles, buffer);
        else complete_counter<Tile>(tiles, buffer);
    }

    // Nobody reads `buffer` before every CTA of the group arrived here; every CTA copied its
    // previous contents (two steps ago) before arriving at the previous barrier.
    template <class Tile>
    __device__ __forceinline__ void complete_counter(unsigned* tiles, int buffer) {
        __syncthreads();
        if (threadIdx.x == 0) {
            ++phase;
            __threadfence();   // the CTA's stores (ordered before by the CTA barrier) before the arrival
            atomicAdd(arrivals, 1u);
            while (load_acquire_gpu(arrivals) < KS * phase) {}
        }
        __syncthreads();
        static_assert(Tile::kWords % 4 == 0, "tiles are copied in 16-byte pieces");
        const unsigned* from = exchange + buffer * Tile::kWords;
        const unsigned to = shared_window_address(tiles + buffer * Tile::kWords);
        for (int i = threadIdx.x; i < Tile::kWords / 4; i += blockDim.x) copy_from_l2_async(to + 16 * i, from + 4 * i);
        wait_async_copies();
        __syncthreads();
    }

    // Every thread polls its share of the payload (the rows' padding never travels), 16 bytes (two
    // pairs) at a time, up to kPollBatch in flight, until both tags of every piece are this step's;
    // then the CTA barrier hands the tile to the product.
    //
    // Why the two buffers (by step parity) are safe to reuse without a barrier between CTAs: a
    // lane overwrites a word of `buffer` (tag + 2) only in the step after next, after its CTA's
    // complete() for tag + 1 saw every peer's tag + 1 words. A peer computed those (a data
    // dependency: its product reads the tile they complete) and published them after its CTA
    // barrier of this complete(), so after every thread of the peer finished reading its share of
    // `buffer` for this tag. A reader can thus never see tag + 2 where it waits for tag. Stale
    // words are two tags behind (or zero); a tag is never reused within a launch.
    //
    // The shared tile `buffer` is free to write: the product read it two exchanges ago, before the
    // previous complete()'s CTA barrier.
    template <class Tile>
    __device__ __forceinline__ void complete_tagged(unsigned* tiles, int buffer) {
        constexpr int kPairsPerColumn = (Tile::kWordsPerColumn - 4) / 2;   // 16-byte pieces of one batch column
        constexpr int kPieces = 8 * kPairsPerColumn;
        constexpr int kPerThread = (kPieces + kThreads - 1) / kThreads;
        constexpr int kBatch = kPerThread < kPollBatch ? kPerThread : kPollBatch;
        static_assert(Tile::kWordsPerColumn % 2 == 0, "pairs of words are polled 16 bytes at a time");
        const unsigned long long* from = pairs + buffer * Tile::kWords;
        unsigned* to = tiles + buffer * Tile::kWords;
#pragma unroll 1
        for (int first = 0; first < kPerThread; first += kBatch) {
            ulonglong2 v[kBatch];
            int word[kBatch];
            bool mine[kBatch];
#pragma unroll
            for (int j = 0; j < kBatch; ++j) {
                const int i = (first + j) * kThreads + (int)threadIdx.x;
                word[j] = (i / kPairsPerColumn) * Tile::kWordsPerColumn + 2 * (i % kPairsPerColumn);
                mine[j] = i < kPieces;
                if (mine[j]) v[j] = load_tagged_pair(from + word[j]);
            }
            // Every piece still behind is polled again, all at once: the first loads usually left
            // before the peers published, and waiting on one piece at a time paid one L2 round trip
            // per piece in sequence (round gridll: ≈ 0.75 µs for each of the forward's 6 and the
            // LSTM backward's 24 pieces per thread).
            for (;;) {
                bool behind = false;
#pragma unroll
                for (int j = 0; j < kBatch; ++j) {
                    if (mine[j] && ((unsigned)(v[j].x >> 32) != tag || (unsigned)(v[j].y >> 32) != tag)) {
                        v[j] = load_tagged_pair(from + word[j]);
                        behind = true;
                    }
                }
                if (!behind) break;
            }
#pragma unroll
            for (int j = 0; j < kBatch; ++j)
                if (mine[j]) *reinterpret_cast<uint2*>(to + word[j]) = make_uint2((unsigned)v[j].x, (unsigned)v[j].y);
        }
        __syncthreads();
        ++tag;
    }
};

}  // namespace fused
}  // namespace flashrnn
