// Persistent forward sweep for a head that fits one SM: one CTA runs all T steps of one
// (head n, batch slice of 8) with R resident on chip. Warp w owns output features
// d ∈ [8w, 8w+8) of every recurrent gate; per step it computes
//   pre[G_R·8 features, 8 batch] = R[G_R, 8 features, D] · h_{t-1}[D, 8 batch]   (mma.sync, fp32 acc)
// as ⌈G_R/2⌉ tiles of two gates each, then the cell's pointwise update on those registers, and
// writes h_t into the other half of a double-buffered shared-memory tile, so a step needs exactly
// one __syncthreads. R fragments: the first AREG tiles (of ⌈G_R/2⌉ · DP/kK) live in registers, the
// rest in shared memory in fragment order (one conflict-free 16-byte load per lane).
// float32 storage (MmaTraits<F32>::kParts = 2): every R fragment and the h tile come as a high and
// a low TF32 part, three products per tile; AREG then counts tiles of two fragments each.
// 16-bit storage with SPLIT_H: R is exact in the storage type (it is the rounded input), but h_{t-1}
// rounded to it would add one rounding per step that the reference (h in float64) does not have;
// the h tile comes as hi = round(h) and lo = round(h − hi), two products per tile (R·h_hi + R·h_lo,
// the lo products in their own chains), so the product sees h to about twice the type's precision.
#pragma once
#include "common/async_copy.cuh"
#include "fused/fused_mma.cuh"
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

// Shared memory and thread shape of one CTA of the forward sweep.
//
// Up to DP = 96 a warp owns 8 features: rows 0-7 of each A tile are gate 2m of those features
// and rows 8-15 gate 2m+1, so the C fragment still gives a lane every gate of its cells (c0/c1
// gate 2m, c2/c3 gate 2m+1, for batch columns 2q and 2q+1), and the CTA has twice the warps of
// a 16-feature layout: two or more warps per scheduler hide each other's product and
// transcendental latency, and each lane runs the cell on 2 cells instead of 4. Beyond DP = 96
// the 8-feature layout would need more than the 128 registers per thread that DP·4 threads
// leave (R alone fills half the register file), so a warp owns 16 features, one gate per tile,
// and a lane runs 4 cells (rows g and g+8).
template <class Cell, class S, int DP, int AREG, bool SPLIT_H>
struct ForwardShape {
    using M = MmaTraits<S>;
    static constexpr int kFeaturesPerWarp = DP <= 96 ? 8 : 16;
    static constexpr int kGatesPerTile = 16 / kFeaturesPerWarp;         // 2 or 1
    static constexpr int kCells = kFeaturesPerWarp / 4;                 // (feature, batch) cells per lane
    static constexpr int kWarps = DP / kFeaturesPerWarp;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kGateTiles = (Cell::kGatesR + kGatesPerTile - 1) / kGatesPerTile;  // A tiles per K step
    static constexpr int kTiles = kGateTiles * (DP / M::kK);            // A tiles per warp
    static constexpr int kRegisterTiles = AREG < kTiles ? AREG : kTiles;
    static constexpr int kSharedTiles = kTiles - kRegisterTiles;
    static constexpr int kParts = M::kParts;                            // fragments per A tile
    // float32 splits h into TF32 parts with R; SPLIT_H is the 16-bit storage's h split alone.
    static_assert(!SPLIT_H || kParts == 1, "SPLIT_H is for 16-bit storage; float32 always splits h (kParts = 2)");
    static constexpr int kHParts = SPLIT_H ? 2 : kParts;                // parts of the h tile
    using HTile = OperandTile<S, DP>;                                 // [8 batch, DP] h_{t-1}
    static constexpr int kSharedBytes = kSharedTiles * kParts * kWarps * 32 * 16 + 2 * kHParts * HTile::kWords * 4;
    static_assert(DP % 16 == 0, "the padded head dimension DP must be a multiple of 16");

    // Wx staging (STAGE_WX, 16-bit storage, D % 8 == 0 and 16-byte aligned Wx rows): a ring of
    // kWxStages steps of the CTA's Wx, [8 batch][G_W·DP + 8] elements per step, filled by cp.async
    // kWxStages − 1 steps ahead in 16-byte chunks. The rows' 16 padding bytes put the batch rows
    // a warp reads 8 or 24 banks apart. kWxRingBytes follow kSharedBytes when staging.
    static constexpr bool kCanStageWx = sizeof(typename S::Bits) == 2;
    static constexpr int kWxStages = 4;
    static constexpr int kWxRowElements = Cell::kGatesW * DP + 8;
    static constexpr int kWxRingBytes = kWxStages * 8 * kWxRowElements * 2;
    static constexpr int kWxChunksPerRow = Cell::kGatesW * DP / 8;                  // per batch row
    static constexpr int kWxChunksPerThread = (8 * kWxChunksPerRow + kThreads - 1) / kThreads;
};

template <class S>
__device__ __forceinline__ float load_or_zero(const typename S::Bits* base, long long index, bool valid) {
    return valid ? S::load(base + index) : 0.0f;
}

// STAGE_WX: stage Wx through the shared-memory ring (ForwardShape) where D and Wx's alignment
// allow; forward_staged_kernel, chosen by FusedVariant.stagesWx. SPLIT_H: h_{t-1} in two 16-bit
// parts (ForwardShape), chosen by FusedVariant.splitsH.
template <class Cell, class S, int DP, int AREG, bool SPLIT_H, bool STAGE_WX>
__device__ __forceinline__ void forward_sweep(const FusedParams& p) {
    using Shape = ForwardShape<Cell, S, DP, AREG, SPLIT_H>;
    using M = MmaTraits<S>;
    using HTile = typename Shape::HTile;
    using Bits = typename S::Bits;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int KT = DP / M::kK;
    constexpr int kPairs = Shape::kGateTiles, kFPW = Shape::kFeaturesPerWarp, kGPT = Shape::kGatesPerTile;
    constexpr int E = Shape::kCells;
    constexpr int kTiles = Shape::kTiles, kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;
    constexpr int kParts = Shape::kParts, kHParts = Shape::kHParts;
    // Two independent accumulator chains (even and odd K steps) halve the dependent mma depth.
    constexpr int kChains = KT > 1 ? 2 : 1;
    // Chains of the products with a low part: as many, except SPLIT_H with 16 features per warp,
    // where more accumulators spilled on sm_90a (LSTM, sLSTM DP = 112, 128 at 255 registers, even
    // with fewer R tiles in registers): there R·h_lo goes into the other high chain (0 low
    // chains). Its float32 addition, truncated by the tensor core, is ~2⁻²³ of the sum: far below
    // the 16-bit rounding of h it replaces (2⁻⁹ for bfloat16).
    constexpr int kLowChains = kHParts == 1 ? 1 : (SPLIT_H && kFPW == 16) ? 0 : kChains;

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kParts, kWarps, 32]
    unsigned* hTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kParts * kWarps * 32);  // [2, kHParts, HTile]

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int n = blockIdx.x, batch0 = blockIdx.y * 8;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const long long ND = (long long)N * D;

    // R fragments of this warp's features: tile (m, kt) holds gates m·kGPT … m·kGPT + kGPT − 1
    // (row r: gate m·kGPT + r / kFPW, feature kFPW·warp + r % kFPW) over K step kt.
    unsigned a[kRegTiles > 0 ? kRegTiles : 1][kParts][4];
    const Bits* R = address<const Bits>(p.r);
    auto loadTile = [&](int i, unsigned (&frag)[kParts][4]) {
        const int m = i / KT, kt = i % KT;
        load_a_parts<S>(frag, [&](int row, int col) {
            const int k = m * kGPT + row / kFPW, dd = warp * kFPW + row % kFPW;
            return (k < GR && dd < D && col < D) ? S::load(R + (((long long)(k * N + n) * D + dd) * D + col)) : 0.0f;
        }, 0, kt * M::kK);
    };
#pragma unroll
    for (int i = 0; i < kRegTiles; ++i) loadTile(i, a[i]);
    // Not unrolled: the shared tiles pass through registers one at a time.
#pragma unroll 1
    for (int i = kRegTiles; i < kTiles; ++i) {
        unsigned frag[kParts][4];
        loadTile(i, frag);
#pragma unroll
        for (int part = 0; part < kParts; ++part)
            rShared[(((i - kRegTiles) * kParts + part) * kWarps + warp) * 32 + lane] =
                make_uint4(frag[part][0], frag[part][1], frag[part][2], frag[part][3]);
    }
    // h_{t-1} into the operand tile: rounded to the operand format, or (float32, SPLIT_H) as two parts.
    auto storeH = [&](unsigned* tile, int column, int k, float v) {
        if constexpr (kHParts == 2) HTile::store_split(tile, column, k, v);
        else HTile::store(tile, column, k, v);
    };

    // This lane's (feature, batch) cells, the C-fragment positions: cell e is feature
    // d0 + 8·(e / 2) (only e < 2 with 8 features per warp) and batch column 2q + e % 2.
    const int d0 = warp * kFPW + g;
    int dOf[E], bOf[E];
    bool valid[E];
#pragma unroll
    for (int e = 0; e < E; ++e) {
        dOf[e] = d0 + 8 * (e >> 1);
        bOf[e] = batch0 + 2 * q + (e & 1);
        valid[e] = dOf[e] < D && bOf[e] < B;
    }
    const long long cell = (long long)n * D + d0;

    const Bits* bias = address<const Bits>(p.bias);
    float biasOf[GT][E / 2];
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int f = 0; f < E / 2; ++f) biasOf[k][f] = load_if<S>(bias + (k * ND + cell + 8 * f), d0 + 8 * f < D);

    const Bits* s0 = address<const Bits>(p.s0);
    float state[E][4];
#pragma unroll
    for (int e = 0; e < E; ++e)
#pragma unroll
        for (int s = 0; s < 4; ++s)
            state[e][s] = (s < kS && s0 != nullptr)
                ? load_if<S>(s0 + (((long long)s * B + bOf[e]) * ND + cell + 8 * (e >> 1)), valid[e]) : 0.0f;
#pragma unroll
    for (int e = 0; e < E; ++e) storeH(hTiles, 2 * q + (e & 1), dOf[e], state[e][0]);

    // Pointers per batch column (the lane's two), at step 0 and feature d0, advanced by one
    // step's stride each step: no index products inside the loop. Cell e adds 8·(e / 2)
    // elements (an immediate offset); planes of [S, B, T, N, D] tensors are `plane` apart.
    const long long plane = (long long)B * T * ND;
    const Bits* wx = address<const Bits>(p.wx);
    const long long wxStrideT = p.wxStrideT;
    const Bits* wxAt[2];
    Bits* statesAt[2];
    float* preAt[2];
    float* states32At[2];
    Bits* states = address<Bits>(p.states);
    float* preOut = address<float>(p.pre);
    float* states32 = address<float>(p.states32);
    const bool training = preOut != nullptr;
#pragma unroll
    for (int e = 0; e < 2; ++e) {   // cells 0 and 1: the two batch columns at feature d0
        wxAt[e] = wx + (bOf[e] * p.wxStrideB + cell);
        statesAt[e] = states + ((long long)bOf[e] * T * ND + cell);
        preAt[e] = preOut + ((long long)bOf[e] * T * GT * ND + cell);
        states32At[e] = states32 + ((long long)bOf[e] * T * ND + cell);
    }
    // Raw bits, widened in the step that uses them (see raw_if).
    auto loadWx = [&](Bits (&w)[GW][E]) {
#pragma unroll
        for (int j = 0; j < GW; ++j)
#pragma unroll
            for (int e = 0; e < E; ++e) w[j][e] = raw_if<S>(wxAt[e & 1] + (j * ND + 8 * (e >> 1)), valid[e]);
#pragma unroll
        for (int e = 0; e < 2; ++e) wxAt[e] += wxStrideT;
    };
    const float clip = p.forwardClip;
    const bool hasClip = p.hasForwardClip != 0;

    // Wx staging (see ForwardShape): chunk i of a step is batch row i / kWxChunksPerRow, gate j and
    // features [8k, 8k + 8) of the rest; this thread copies chunks threadIdx.x + kThreads·c.
    constexpr int kStages = Shape::kWxStages, kRow = Shape::kWxRowElements, kChunkSlots = Shape::kWxChunksPerThread;
    constexpr bool kStage = STAGE_WX && Shape::kCanStageWx;
    const bool stage = kStage && D % 8 == 0
        && reinterpret_cast<unsigned long long>(wx) % 16 == 0 && wxStrideT % 8 == 0 && p.wxStrideB % 8 == 0;
    Bits* ring = reinterpret_cast<Bits*>(hTiles + 2 * kHParts * HTile::kWords);   // [kStages, 8, kRow]
    const Bits* chunkFrom[kChunkSlots];
    int chunkTo[kChunkSlots];
    bool chunkValid[kChunkSlots];
#pragma unroll
    for (int c = 0; c < kChunkSlots; ++c) {
        const int i = threadIdx.x + Shape::kThreads * c;
        const int row = i / Shape::kWxChunksPerRow, rest = i % Shape::kWxChunksPerRow;
        const int j = rest / (DP / 8), k = rest % (DP / 8);
        chunkValid[c] = row < 8 && batch0 + row < B && 8 * k < D;
        chunkFrom[c] = wx + (chunkValid[c] ? (batch0 + row) * p.wxStrideB + j * ND + (long long)n * D + 8 * k : 0);
        chunkTo[c] = row * kRow + j * DP + 8 * k;
    }
    // Copies Wx of the next step not yet staged into its slot, as one group (empty past T, so
    // the group count stays one per step); chunkFrom moves one step on.
    int stagedSteps = 0;
    auto stageNext = [&]() {
        if (stagedSteps < T) {
            Bits* slot = ring + (stagedSteps % kStages) * 8 * kRow;
#pragma unroll
            for (int c = 0; c < kChunkSlots; ++c) {
                if (threadIdx.x + Shape::kThreads * c < 8 * Shape::kWxChunksPerRow)
                    copy16_async(shared_address(slot + chunkTo[c]), chunkFrom[c], chunkValid[c]);
                chunkFrom[c] += wxStrideT;
            }
        }
        ++stagedSteps;
        commit_async_copies();
    };
    if (stage) {
#pragma unroll 1
        for (int s = 0; s < kStages - 1; ++s) stageNext();
        wait_async_groups<kStages - 2>();
    }
    __syncthreads();

    // One step; `use` holds Wx of step t, `fetch` receives Wx of step t+1. Two named buffers
    // alternate (the loop below is unrolled by two) so no register copy waits on the loads.
    auto step = [&](int t, const Bits (&use)[GW][E], Bits (&fetch)[GW][E]) {
        const unsigned* hNow = hTiles + (t & 1) * kHParts * HTile::kWords;
        unsigned* hNext = hTiles + ((t + 1) & 1) * kHParts * HTile::kWords;
        // Issued before the product so the loads overlap it; the L2 prefetch runs further ahead:
        // lane g fetches gate g of its two batch rows (the warp's features share a line). wxAt
        // points at step t + 1 here.
        if (g < GW && t + kPrefetchSteps < T) {
#pragma unroll
            for (int e = 0; e < 2; ++e)
                if (valid[e]) prefetch_l2(wxAt[e] + ((kPrefetchSteps - 1) * wxStrideT + g * ND));
        }
        if (stage) {
            stageNext();                                // Wx of step t + kStages − 1
#pragma unroll
            for (int e = 0; e < 2; ++e) wxAt[e] += wxStrideT;
        } else if (t + 1 < T) {
            loadWx(fetch);
        }
        const Bits* staged = ring + (t % kStages) * 8 * kRow;

        // acc: the high parts' products; small (float32, SPLIT_H): the products with a low part.
        constexpr bool kSmall = kLowChains > 0 && kHParts > 1;
        float acc[kChains][kPairs][4];
        float small[kLowChains > 0 ? kLowChains : 1][kPairs][4];
#pragma unroll
        for (int c = 0; c < kChains; ++c)
#pragma unroll
            for (int m = 0; m < kPairs; ++m)
#pragma unroll
                for (int v = 0; v < 4; ++v) acc[c][m][v] = 0.0f;
#pragma unroll
        for (int c = 0; c < (kLowChains > 0 ? kLowChains : 1); ++c)
#pragma unroll
            for (int m = 0; m < kPairs; ++m)
#pragma unroll
                for (int v = 0; v < 4; ++v) small[c][m][v] = 0.0f;
#pragma unroll
        for (int kt = 0; kt < KT; ++kt) {
            unsigned b[kHParts][2];
#pragma unroll
            for (int part = 0; part < kHParts; ++part) HTile::load_b(hNow + part * HTile::kWords, kt * M::kK, b[part][0], b[part][1]);
#pragma unroll
            for (int m = 0; m < kPairs; ++m) {
                const int i = m * KT + kt;
                float (&sm)[4] = kLowChains > 0 ? small[kt % (kLowChains > 0 ? kLowChains : 1)][m] : acc[(kt + 1) % kChains][m];
                if (i < kRegTiles) {
                    mma_parts<S, kHParts>(acc[kt % kChains][m], sm, a[i < kRegTiles ? i : 0], b);
                } else {
                    unsigned frag[kParts][4];
#pragma unroll
                    for (int part = 0; part < kParts; ++part)
                        load_shared_fragment(frag[part], rShared + (((i - kRegTiles) * kParts + part) * kWarps + warp) * 32 + lane);
                    mma_parts<S, kHParts>(acc[kt % kChains][m], sm, frag, b);
                }
            }
        }

#pragma unroll
        for (int e = 0; e < E; ++e) {
            float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int k = 0; k < GT; ++k) pre[k] = biasOf[k][e >> 1];
#pragma unroll
            for (int k = 0; k < GR; ++k) {
                // Gate k sits in tile k / kGPT; its row half (accumulators 0-1 or 2-3) is k % 2
                // with two gates per tile, else the cell's feature half e / 2.
                const int v = 2 * (kGPT == 2 ? (k & 1) : (e >> 1)) + (e & 1);
                float sum = acc[0][k / kGPT][v];
                if (kChains > 1) sum += acc[kChains - 1][k / kGPT][v];
                if constexpr (kSmall) {
                    float cross = small[0][k / kGPT][v];
                    if (kLowChains > 1) cross += small[kLowChains - 1][k / kGPT][v];
                    sum += cross;
                }
                pre[k + kROff] += sum;
            }
#pragma unroll
            for (int j = 0; j < GW; ++j) {
                Bits raw;
                if (stage) raw = valid[e] ? staged[(2 * q + (e & 1)) * kRow + j * DP + dOf[e]] : Bits{};
                else raw = use[j][e];
                pre[j + kWOff] += S::load(&raw);
            }
            float next[4];
            Cell::template forward<typename S::Math>(pre, state[e], next);
            if (hasClip) next[0] = fminf(fmaxf(next[0], -clip), clip);
            if (!valid[e]) {
#pragma unroll
                for (int s = 0; s < 4; ++s) next[s] = 0.0f;
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) state[e][s] = next[s];
            storeH(hNext, 2 * q + (e & 1), dOf[e], next[0]);
            const int c = e & 1, f = 8 * (e >> 1);
            if (valid[e]) {
#pragma unroll
                for (int s = 0; s < kS; ++s) S::store(statesAt[c] + (s * plane + f), next[s]);
                if (training) {
#pragma unroll
                    for (int k = 0; k < GT; ++k) preAt[c][k * ND + f] = pre[k];
#pragma unroll
                    for (int s = 0; s < kS; ++s) states32At[c][s * plane + f] = next[s];
                }
            }
        }
#pragma unroll
        for (int c = 0; c < 2; ++c) {
            statesAt[c] += ND;
            preAt[c] += GT * ND;
            states32At[c] += ND;
        }
        if (stage) wait_async_groups<kStages - 2>();   // step t + 1's group is in shared memory
        __syncthreads();
    };

    Bits wxA[GW][E], wxB[GW][E];
    if (stage) {
#pragma unroll
        for (int e = 0; e < 2; ++e) wxAt[e] += wxStrideT;
    } else {
        loadWx(wxA);
    }
    int t = 0;
    for (; t + 1 < T; t += 2) {
        step(t, wxA, wxB);
        step(t + 1, wxB, wxA);
    }
    if (t < T) step(t, wxA, wxB);

    // The state after the last step (the registers hold it; invalid cells were zeroed).
    Bits* last = address<Bits>(p.last);
    if (T > 0) {
#pragma unroll
        for (int e = 0; e < E; ++e) {
            if (!valid[e]) continue;
#pragma unroll
            for (int s = 0; s < kS; ++s)
                S::store(last + (((long long)s * B + bOf[e]) * ND + cell + 8 * (e >> 1)), state[e][s]);
        }
    }
}

}  // namespace fused
}  // namespace flashrnn
