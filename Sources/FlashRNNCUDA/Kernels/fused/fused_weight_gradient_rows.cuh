// Where the two operands of dR = Σ_rows dG ⊗ h_{t-1} live for one (gate k, head n), in both GPU
// backends' layouts (WeightGradientParams): dG of a row, and h_{t-1} of the same row. The FMA and
// the tensor-core dR kernels (fused_weight_gradient.cuh, fused_weight_gradient_mma.cuh) read
// through it, so both see the same rows.
#pragma once
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

// Also the CTA's share of the work, the same in both kernels: output tile (d0, p0) of `tile` ×
// `tile` (blockIdx.x), gate k and head n (blockIdx.y), rows [rowBegin, rowEnd) (blockIdx.z).
template <class S>
struct WeightGradientRows {
    const float* dG;                 // dGR at (row 0, gate k, head n, feature 0)
    const float* states;             // states32 at (row 0, head n, feature 0)
    const typename S::Bits* s0;      // s0 at (b = 0, head n, feature 0), or null (zeros)
    long long dGRowStride, ND, rowBegin, rowEnd;
    double inverseT;                 // 1 / T (Walk)
    int T, d0, p0, k, n;
    bool initialOnly, hAligned;

    // Consecutive rows are consecutive (b, t), or with initialRowsOnly consecutive b at t = 0.
    __device__ __forceinline__ WeightGradientRows(const WeightGradientParams& p, int tile) {
        const int tilesPerSide = (p.D + tile - 1) / tile;
        d0 = (blockIdx.x / tilesPerSide) * tile;
        p0 = (blockIdx.x % tilesPerSide) * tile;
        k = blockIdx.y % p.GR;
        n = blockIdx.y / p.GR;
        initialOnly = p.initialRowsOnly != 0;
        const long long rows = initialOnly ? p.B : (long long)p.B * p.T;
        rowBegin = (long long)blockIdx.z * p.rowsPerBlock;
        rowEnd = min(rows, rowBegin + p.rowsPerBlock);
        ND = (long long)p.N * p.D;
        hAligned = p.hRowAligned != 0;
        T = p.T;
        inverseT = 1.0 / (double)T;
        dGRowStride = (initialOnly ? (long long)T : 1LL) * p.dGRowGates * ND;
        dG = address<const float>(p.dGR) + (long long)(p.dGGateOffset + k) * ND + (long long)n * p.D;
        states = address<const float>(p.states32) + (long long)n * p.D;
        s0 = p.s0 != 0 ? address<const typename S::Bits>(p.s0) + (long long)n * p.D : nullptr;
    }

    // A thread's first row of the chunk being fetched, with its t = row − b·T, b = row div T
    // (initialRowsOnly: t = 0, b = row) and the addresses of its operands. Found by one division
    // at the start; afterwards rows move by additions (`next`) and a position a fixed number of
    // rows on is an offset from these (`load`), so fetching one costs a few integer operations,
    // not a 64-bit division and three 64-bit products.
    struct Walk {
        long long row;
        int t;
        const float* gradient;              // dG of the row, at the thread's column
        const float* state;                 // states32 of h_{t-1}'s row (t > 0), at the column
        const typename S::Bits* initial;    // s0 of the row's b, at the column (zeros: null)
    };

    __device__ __forceinline__ Walk walk(long long row, int gColumn, int hColumn) const {
        Walk w;
        w.row = row;
        const long long b = initialOnly ? row : row / T;
        w.t = initialOnly ? 0 : (int)(row - b * T);
        w.gradient = dG + (row * dGRowStride + gColumn);
        // h_{t-1} is states32 row `row` in the alternating layout, row − 1 in the fused one
        // (whose t = 0 rows read s0 instead; that states32 address is never read).
        w.state = states + ((hAligned ? row : row - 1) * ND + hColumn);
        w.initial = s0 != nullptr ? s0 + (b * ND + hColumn) : nullptr;
        return w;
    }

    // How many sequence starts lie between t and t + by (0 ≤ by < 2^30), and t + by's t: a float64
    // quotient off by at most one, corrected by selects.
    __device__ __forceinline__ void split(int t, int by, int& wraps, int& rest) const {
        const int u = t + by;
        wraps = (int)((double)u * inverseT);
        rest = u - wraps * T;
        wraps += rest >= T ? 1 : (rest < 0 ? -1 : 0);
        rest = u - wraps * T;
    }

    // The walk `by` rows on.
    __device__ __forceinline__ void next(Walk& w, int by) const {
        int wraps, rest;
        split(w.t, by, wraps, rest);
        w.row += by;
        w.t = initialOnly ? 0 : rest;
        w.gradient += by * dGRowStride;
        w.state += by * ND;
        if (w.initial != nullptr) w.initial += (initialOnly ? by : wraps) * ND;
    }

    // One staged position as loaded: dG, and h_{t-1} either from states32 (`state`) or, at a
    // row with t = 0 of the fused layout, as s0's bits (`initial`; zero bits without initial
    // states). Every load is predicated and none sits in a branch (hAligned too is arithmetic
    // here, not a branch the compiler could version the loads on): a load inside a branch is
    // waited for where the branch ends, which made each of a chunk's loads a memory round trip
    // of its own. Raw bits, widened only where the chunk is staged (`previous`), so the wait
    // falls in the next chunk, after this one's products.
    struct Loaded {
        float gradient, state;
        typename S::Bits initial;
        bool atStart;
    };

    // Where the row `by` rows after the walk's lies (by < 2^30): whether it is one of the CTA's,
    // whether its h_{t-1} is s0 (a t = 0 row of the fused layout), and the offsets of its operands
    // from the walk's addresses.
    struct Position {
        bool inRows, atStart;
        long long gradient, state, initial;
    };

    __device__ __forceinline__ Position at(const Walk& w, int by) const {
        int wraps, rest;
        split(w.t, by, wraps, rest);
        Position q;
        q.inRows = w.row + by < rowEnd;
        q.atStart = !hAligned && (initialOnly || rest == 0);
        q.gradient = by * dGRowStride;
        q.state = by * ND;
        q.initial = (initialOnly ? by : wraps) * ND;
        return q;
    }

    __device__ __forceinline__ Loaded load(const Walk& w, int by, bool gColumn, bool hColumn) const {
        const Position q = at(w, by);
        Loaded v;
        v.atStart = q.atStart;
        v.gradient = predicated_load(w.gradient + q.gradient, q.inRows && gColumn);
        v.state = predicated_load(w.state + q.state, q.inRows && hColumn && !q.atStart);
        v.initial = raw_if<S>(w.initial + q.initial, q.inRows && hColumn && q.atStart && w.initial != nullptr);
        return v;
    }

    // Four consecutive columns of one row as loaded (the walk's columns a multiple of 4, D % 4 == 0,
    // operands 16-byte and s0 8-byte aligned: WeightGradientModule::quadsAllowed), 16-bit storage.
    struct LoadedQuad {
        float4 gradient, state;
        Bits64 initial;
        bool atStart;
    };

    __device__ __forceinline__ LoadedQuad loadQuad(const Walk& w, int by, bool gColumns, bool hColumns) const {
        static_assert(sizeof(typename S::Bits) == 2, "quads of s0 are four 16-bit elements");
        const Position q = at(w, by);
        LoadedQuad v;
        v.atStart = q.atStart;
        v.gradient = predicated_load4(w.gradient + q.gradient, q.inRows && gColumns);
        v.state = predicated_load4(w.state + q.state, q.inRows && hColumns && !q.atStart);
        v.initial = predicated_load8(w.initial + q.initial, q.inRows && hColumns && q.atStart && w.initial != nullptr);
        return v;
    }

    // h_{t-1} of a loaded quad.
    __device__ __forceinline__ static void previous(const LoadedQuad& v, float (&h)[4]) {
        float initial[4];
        S::load4(reinterpret_cast<const typename S::Bits*>(&v.initial), initial);
        h[0] = v.atStart ? initial[0] : v.state.x;
        h[1] = v.atStart ? initial[1] : v.state.y;
        h[2] = v.atStart ? initial[2] : v.state.z;
        h[3] = v.atStart ? initial[3] : v.state.w;
    }

    // h_{t-1} of a loaded position.
    __device__ __forceinline__ static float previous(const Loaded& v) {
        return v.atStart ? S::load(&v.initial) : v.state;
    }
};

}  // namespace fused
}  // namespace flashrnn
