// The grid exchange policy of the sliced fused kernels, for a head beyond one cluster: the KS CTAs
// of one (head, batch slice) sit anywhere on the device (all co-resident: cooperative launch) and
// exchange h_t (backward: dG_t) through global memory. Each lane writes its words into the
// group's global copy of the tile buffer; the group then meets at a barrier on a global arrival
// counter (the pattern of a grid barrier, for KS CTAs), and every CTA copies the completed buffer
// from L2 into its own shared-memory tile.
#pragma once
#include "fused/fused_sliced_cluster.cuh"

namespace flashrnn {
namespace fused {

typedef FlashRNNGridExchangeParams GridExchangeParams;

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

template <int KS>
struct GridExchange {
    unsigned* exchange;        // this group's [2, tile words]
    unsigned* arrivals;        // this group's counter, zero at launch
    unsigned phase = 0;        // barriers passed (thread 0 only)

    __device__ __forceinline__ explicit GridExchange(const GridExchangeParams& x, int tileWords) {
        const int group = blockIdx.y * (gridDim.x / KS) + blockIdx.x / KS;
        exchange = reinterpret_cast<unsigned*>(x.exchange) + (long long)group * 2 * tileWords;
        arrivals = reinterpret_cast<unsigned*>(x.arrivals) + group;
    }
    static constexpr bool kArriveFences = false;
    static constexpr bool kNeedsCtaBarrierBeforePublish = false;
    static constexpr int kPartialSumBuffers = 1;   // complete() holds CTA barriers
    __device__ __forceinline__ int rank() const { return blockIdx.x % KS; }
    __device__ __forceinline__ void start(unsigned long long*, int) const {}
    __device__ __forceinline__ void arrive() const {}
    __device__ __forceinline__ void finish() const {}

    // One packed word that lanes g and g^1 both hold (`half` = g & 1): the group's global copy
    // needs it once.
    template <class Tile>
    __device__ __forceinline__ void publish_word(unsigned*, int buffer, int word, unsigned value, int half) const {
        if (half == 0) exchange[buffer * Tile::kWords + word] = value;
    }

    // Nobody reads `buffer` before every CTA of the group arrived here; every CTA copied its
    // previous contents (two steps ago) before arriving at the previous barrier.
    template <class Tile>
    __device__ __forceinline__ void complete(unsigned* tiles, int buffer) {
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
};

}  // namespace fused
}  // namespace flashrnn
