// dR = Σ_rows dG ⊗ h_{t-1} on tensor cores, for 16-bit storage (both GPU backends; the rows and
// the CTA grid as fused_weight_gradient.cuh's FMA kernel: TILE × TILE output tiles per (gate,
// head), rows split across CTAs, float32 atomics into dR32).
//
// dG and h are float32. Each is split into bfloat16 parts, hi = round(x) and lo = round(x − hi),
// and one m16n8k16 product per pair of parts that matters, hi·hi + hi·lo + lo·hi, sees both
// operands to about 16 significant bits (the dropped lo·lo is 2^-16 of the product), with
// float32 accumulation. bfloat16 parts rather than float16: they keep float32's exponent range,
// so a tiny dG keeps its low part without scaling (float16's would fall below its subnormals).
// The hi·hi products of one chunk start from zero and are added to the running sum with a
// rounded FADD: accumulated inside the tensor core, whose float32 additions truncate, the large
// term's error would be biased and add up over the B·T rows (see mma_high_rounded).
//
// Shared memory: per operand (dG, h) and part (hi, lo) one plane of 32-bit words, word [kp][c]
// = the values of rows 2kp and 2kp + 1 at column c, lower row in the lower half: exactly the
// m16n8k16 fragment's pair along K. The rows are M (d, from dG) and N (p, from h) of the product,
// so A (row-major M × K) and B (column-major K × N) come from planes of the same shape.
#pragma once
#include "fused/fused_mma.cuh"
#include "fused/fused_weight_gradient_rows.cuh"

namespace flashrnn {
namespace fused {

constexpr int kWeightMmaThreads = 256;   // 8 warps (the FMA kernel's block, one entry point)

// The work split of a TILE × TILE output tile: each warp owns 16 × kWarpColumns of it (one m16
// tile, kNTiles n8 tiles); where the warps outnumber those regions they split each chunk's K
// steps kSplitK ways and each adds its own partial sums to dR32.
template <int TILE>
struct WeightGradientMmaShape {
    static_assert(TILE == 16 || TILE == 32 || TILE == 64, "the dR tile is 16, 32 or 64 wide");
    static constexpr int kRows = TILE == 64 ? 32 : 64;     // rows (K) staged per chunk
    static constexpr int kPairs = kRows / 2;               // words per plane column
    // Words per k-pair row: ≡ 8 or 24 (mod 32), so a fragment load (4 k pairs × 8 columns) hits 32 banks.
    static constexpr int kStride = TILE + 8;
    static constexpr int kPlaneWords = kPairs * kStride;
    static constexpr int kWarpColumns = TILE == 64 ? 32 : TILE / 2;
    static constexpr int kNTiles = kWarpColumns / 8;
    static constexpr int kColumnGroups = TILE / kWarpColumns;
    static constexpr int kOutputWarps = (TILE / 16) * kColumnGroups;
    static constexpr int kSplitK = kWeightMmaThreads / 32 / kOutputWarps;
    static constexpr int kSteps = kRows / 16;                              // k16 steps per chunk
    static_assert(kSteps % kSplitK == 0, "every warp of a K split takes the same steps");
    static constexpr int kPairLoads = kPairs * TILE / kWeightMmaThreads;   // row pairs each thread stages
    static_assert(kPairLoads * kWeightMmaThreads == kPairs * TILE, "every thread stages whole pairs");
    // Two buffers × four planes (dG hi, dG lo, h hi, h lo).
    static constexpr int kSharedWords = 2 * 4 * kPlaneWords;
};

// (x0, x1) as a bfloat16 pair word (x0 in the lower half) and the pair of what rounding left over.
__device__ __forceinline__ void split_pair(float x0, float x1, unsigned& high, unsigned& low) {
    using M = MmaTraits<BF16>;
    high = M::pack(x0, x1);
    low = M::pack(x0 - __uint_as_float(high << 16), x1 - __uint_as_float(high & 0xffff0000u));
}

// QUADS: each thread stages two rows × four consecutive columns of a chunk with 16-byte loads
// (D % 4 == 0 and aligned operands: WeightGradientModule::quadsAllowed), else one column at
// kPairLoads pairs of rows with 4-byte loads (every D).
template <class S, int TILE, bool QUADS>
__device__ __forceinline__ void weight_gradient_mma(const WeightGradientParams& p, unsigned* shared) {
    static_assert(sizeof(typename S::Bits) == 2, "the tensor-core dR is for 16-bit storage (float32 keeps the FMA kernel)");
    using Shape = WeightGradientMmaShape<TILE>;
    using M = MmaTraits<BF16>;
    constexpr int kStride = Shape::kStride, kPlane = Shape::kPlaneWords;
    const WeightGradientRows<S> at(p, TILE);
    const int D = p.D, d0 = at.d0, p0 = at.p0, k = at.k, n = at.n;
    const long long rowBegin = at.rowBegin, rowEnd = at.rowEnd;

    // Columns: one thread stages column `column` at k pairs kp0, kp0 + kPairStep, ... or, with
    // QUADS, columns column … column + 3 at k pair kp0 (threads beyond the chunk's quads idle).
    constexpr int kPairStep = kWeightMmaThreads / TILE;
    constexpr int kQuadsPerRow = TILE / 4;
    constexpr int kQuadUnits = Shape::kPairs * kQuadsPerRow;
    static_assert(!QUADS || kQuadUnits <= kWeightMmaThreads, "one quad of a chunk per thread at most");
    static_assert(kStride % 4 == 0 && kPlane % 4 == 0, "a quad's four words are one 16-byte shared store");
    const int column = QUADS ? 4 * (threadIdx.x % kQuadsPerRow) : threadIdx.x % TILE;
    const int kp0 = QUADS ? threadIdx.x / kQuadsPerRow : threadIdx.x / TILE;
    const bool stages = !QUADS || threadIdx.x < kQuadUnits;
    const bool gColumn = stages && d0 + column < D, hColumn = stages && p0 + column < D;
    // As loaded (widened when staged: WeightGradientRows::load says why). `first` walks this
    // thread's first row of the chunk being fetched; the others are fixed offsets from it.
    using Rows = WeightGradientRows<S>;
    typename Rows::Loaded loaded[QUADS ? 1 : Shape::kPairLoads][2];
    typename Rows::LoadedQuad quads[2];
    typename Rows::Walk first = at.walk(rowBegin + 2 * kp0, d0 + column, p0 + column);
    auto fetch = [&]() {
        if constexpr (QUADS) {
#pragma unroll
            for (int e = 0; e < 2; ++e) quads[e] = at.loadQuad(first, e, gColumn, hColumn);
        } else {
#pragma unroll
            for (int l = 0; l < Shape::kPairLoads; ++l)
#pragma unroll
                for (int e = 0; e < 2; ++e) loaded[l][e] = at.load(first, 2 * l * kPairStep + e, gColumn, hColumn);
        }
        at.next(first, Shape::kRows);
    };
    // The fetched chunk into the shared planes of `buffer` as bfloat16 hi/lo pair words.
    auto stage = [&](int buffer) {
        unsigned* gHigh = shared + buffer * 4 * kPlane;
        unsigned* gLow = gHigh + kPlane;
        unsigned* hHigh = gHigh + 2 * kPlane;
        unsigned* hLow = gHigh + 3 * kPlane;
        if constexpr (QUADS) {
            const float g0[4] = {quads[0].gradient.x, quads[0].gradient.y, quads[0].gradient.z, quads[0].gradient.w};
            const float g1[4] = {quads[1].gradient.x, quads[1].gradient.y, quads[1].gradient.z, quads[1].gradient.w};
            float h0[4], h1[4];
            Rows::previous(quads[0], h0);
            Rows::previous(quads[1], h1);
            unsigned gh[4], gl[4], hh[4], hl[4];
#pragma unroll
            for (int c = 0; c < 4; ++c) {
                split_pair(g0[c], g1[c], gh[c], gl[c]);
                split_pair(h0[c], h1[c], hh[c], hl[c]);
            }
            if (stages) {
                const int word = kp0 * kStride + column;
                *reinterpret_cast<uint4*>(gHigh + word) = make_uint4(gh[0], gh[1], gh[2], gh[3]);
                *reinterpret_cast<uint4*>(gLow + word) = make_uint4(gl[0], gl[1], gl[2], gl[3]);
                *reinterpret_cast<uint4*>(hHigh + word) = make_uint4(hh[0], hh[1], hh[2], hh[3]);
                *reinterpret_cast<uint4*>(hLow + word) = make_uint4(hl[0], hl[1], hl[2], hl[3]);
            }
        } else {
#pragma unroll
            for (int l = 0; l < Shape::kPairLoads; ++l) {
                const int word = (kp0 + l * kPairStep) * kStride + column;
                split_pair(loaded[l][0].gradient, loaded[l][1].gradient, gHigh[word], gLow[word]);
                split_pair(Rows::previous(loaded[l][0]), Rows::previous(loaded[l][1]), hHigh[word], hLow[word]);
            }
        }
    };

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, q = lane & 3;
    const int outputWarp = warp % Shape::kOutputWarps, kPart = warp / Shape::kOutputWarps;
    const int m0 = 16 * (outputWarp / Shape::kColumnGroups);
    const int n0 = Shape::kWarpColumns * (outputWarp % Shape::kColumnGroups);
    float sum[Shape::kNTiles][4] = {};     // Σ hi·hi, one rounded FADD per chunk
    float small[Shape::kNTiles][4] = {};   // Σ hi·lo + lo·hi, accumulated in the tensor core

    fetch();
    int buffer = 0;
    for (long long r0 = rowBegin; r0 < rowEnd; r0 += Shape::kRows, buffer ^= 1) {
        const unsigned* gHigh = shared + buffer * 4 * kPlane;
        const unsigned* gLow = gHigh + kPlane;
        const unsigned* hHigh = gHigh + 2 * kPlane;
        const unsigned* hLow = gHigh + 3 * kPlane;
        stage(buffer);
        // One barrier per chunk: the buffer written next was last read before this barrier.
        __syncthreads();
        if (r0 + Shape::kRows < rowEnd) fetch();
        float fresh[Shape::kNTiles][4] = {};
#pragma unroll
        for (int u = 0; u < Shape::kSteps / Shape::kSplitK; ++u) {
            const int s = kPart + Shape::kSplitK * u;
            // A (M = d, K = rows): a0 (row g, pair q), a1 (g + 8, q), a2 (g, q + 4), a3 (g + 8, q + 4).
            const int top = (8 * s + q) * kStride + m0 + g, bottom = top + 4 * kStride;
            const unsigned aHigh[4] = {gHigh[top], gHigh[top + 8], gHigh[bottom], gHigh[bottom + 8]};
            const unsigned aLow[4] = {gLow[top], gLow[top + 8], gLow[bottom], gLow[bottom + 8]};
#pragma unroll
            for (int j = 0; j < Shape::kNTiles; ++j) {
                // B (K = rows, N = p): b0 (pair q, column g), b1 (pair q + 4, column g).
                const int b0 = (8 * s + q) * kStride + n0 + 8 * j + g, b1 = b0 + 4 * kStride;
                M::mma(fresh[j], aHigh, hHigh[b0], hHigh[b1]);
                M::mma(small[j], aHigh, hLow[b0], hLow[b1]);
                M::mma(small[j], aLow, hHigh[b0], hHigh[b1]);
            }
        }
#pragma unroll
        for (int j = 0; j < Shape::kNTiles; ++j)
#pragma unroll
            for (int v = 0; v < 4; ++v) sum[j][v] += fresh[j][v];
    }
    // C: c0 (row g, column 2q), c1 (g, 2q + 1), c2 (g + 8, 2q), c3 (g + 8, 2q + 1).
    float* dR32 = address<float>(p.dR32) + (long long)(k * p.N + n) * D * D;
#pragma unroll
    for (int j = 0; j < Shape::kNTiles; ++j)
#pragma unroll
        for (int v = 0; v < 4; ++v) {
            const int d = d0 + m0 + g + 8 * (v >> 1), pp = p0 + n0 + 8 * j + 2 * q + (v & 1);
            if (d < D && pp < D) atomicAdd(dR32 + (long long)d * D + pp, sum[j][v] + small[j][v]);
        }
}

}  // namespace fused
}  // namespace flashrnn
