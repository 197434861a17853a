// Tensor-core vocabulary of the fused kernels: one warp-level product
// C[16×8] += A[16×K] · B[K×8] with float32 accumulation (mma.sync, inline PTX, no CUDA headers),
// per storage type:
//   bfloat16 / float16: m16n8k16, A and B in the storage type;
//   float32:            m16n8k8 on TF32 (10-bit mantissa) with every operand split in a high and a
//                       low TF32 part (kParts = 2) and three products per tile, hi·hi + hi·lo +
//                       lo·hi ("3xTF32"): float32 accuracy, see docs/design-fused.md.
// Fragment ownership (PTX ISA, "Matrix Fragments for mma.m16n8k*"), with g = lane / 4, q = lane % 4:
//   C: c0 (row g, col 2q), c1 (g, 2q+1), c2 (g+8, 2q), c3 (g+8, 2q+1).
// Every fused kernel puts the output feature on the row (M) axis and the batch column on N, so a
// thread's four accumulators are the same (feature, batch) cells for every gate: the pointwise
// cell update runs on the product's registers with no exchange.
#pragma once
#include "common/storage.cuh"

namespace flashrnn {
namespace fused {

__device__ __forceinline__ unsigned to_tf32(float x) {
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// Traits per storage type (common/storage.cuh). kK: the K extent of one product; kPerWord:
// operand elements per 32-bit shared-memory word (two 16-bit values, or one TF32 value).
template <class S> struct MmaTraits;

template <> struct MmaTraits<BF16> {
    static constexpr int kK = 16;
    static constexpr int kPerWord = 2;
    static constexpr int kParts = 1;    // A fragments per tile (R in the storage type)
    // cvt.rn.bf16x2.f32 d, a, b puts a in the upper half: the lower index goes second.
    __device__ __forceinline__ static unsigned pack(float lo, float hi) {
        unsigned r;
        asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
        return r;
    }
    __device__ __forceinline__ static void mma(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

template <> struct MmaTraits<F16> {
    static constexpr int kK = 16;
    static constexpr int kPerWord = 2;
    static constexpr int kParts = 1;
    __device__ __forceinline__ static unsigned pack(float lo, float hi) {
        unsigned r;
        asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
        return r;
    }
    __device__ __forceinline__ static void mma(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

template <> struct MmaTraits<F32> {
    static constexpr int kK = 8;
    static constexpr int kPerWord = 1;
    // A TF32 part keeps 11 of float32's 24 significant bits; a high and a low part keep 22, and
    // the product's dropped lo·lo term is below float32's rounding (CUTLASS's 3xTF32).
    static constexpr int kParts = 2;
    __device__ __forceinline__ static void mma(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
        asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};

// One lane's A fragment from shared memory. volatile: the compiler must not hoist these
// loop-invariant loads out of the time loop into registers, which would defeat the split
// between register-resident and shared-resident R tiles.
__device__ __forceinline__ void load_shared_fragment(unsigned (&a)[4], const uint4* address) {
    asm volatile("{ .reg .u64 s; cvta.to.shared.u64 s, %4; ld.shared.v4.u32 {%0,%1,%2,%3}, [s]; }"
                 : "=r"(a[0]), "=r"(a[1]), "=r"(a[2]), "=r"(a[3]) : "l"(address));
}

// The A fragment of rows [row0, row0+16) × columns [col0, col0+kK) of a matrix read through
// `at(row, col)` (which returns 0 outside the matrix).
template <class S, typename At>
__device__ __forceinline__ void load_a_fragment(unsigned (&a)[4], At at, int row0, int col0) {
    const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    if constexpr (MmaTraits<S>::kK == 16) {
        using M = MmaTraits<S>;
        const int c = col0 + 2 * q;
        a[0] = M::pack(at(row0 + g, c), at(row0 + g, c + 1));
        a[1] = M::pack(at(row0 + g + 8, c), at(row0 + g + 8, c + 1));
        a[2] = M::pack(at(row0 + g, c + 8), at(row0 + g, c + 9));
        a[3] = M::pack(at(row0 + g + 8, c + 8), at(row0 + g + 8, c + 9));
    } else {
        const int c = col0 + q;
        a[0] = to_tf32(at(row0 + g, c));
        a[1] = to_tf32(at(row0 + g + 8, c));
        a[2] = to_tf32(at(row0 + g, c + 4));
        a[3] = to_tf32(at(row0 + g + 8, c + 4));
    }
}

// The A fragment as in load_a_fragment, in MmaTraits<S>::kParts parts: for float32 the value
// rounded to TF32 (part 0) and what that rounding left over, rounded to TF32 (part 1).
template <class S, typename At>
__device__ __forceinline__ void load_a_parts(unsigned (&a)[MmaTraits<S>::kParts][4], At at, int row0, int col0) {
    if constexpr (MmaTraits<S>::kParts == 1) {
        load_a_fragment<S>(a[0], at, row0, col0);
    } else {
        const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
        const int c = col0 + q;
        const float v[4] = {at(row0 + g, c), at(row0 + g + 8, c), at(row0 + g, c + 4), at(row0 + g + 8, c + 4)};
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            a[0][j] = to_tf32(v[j]);
            a[1][j] = to_tf32(v[j] - __uint_as_float(a[0][j]));
        }
    }
}

// c += A_hi·B_hi for float32 in the backward: the product from a zero accumulator, added with a
// rounded FADD. The tensor core's float32 additions truncate; accumulated in it, the large
// term's error is biased and adds up over T and the B·T rows of dR (D = 1 gradients were
// 2.3-2.7x the CPU float32 error at commit 0b79944). From zero, a tile whose K range holds one
// product (D = 1) is exact. (In the forward the fresh accumulators of all K tiles stayed live
// together and spilled at DP = 64; its D = 1 outputs passed without it.)
template <class S>
__device__ __forceinline__ void mma_high_rounded(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    float fresh[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    MmaTraits<S>::mma(fresh, a, b0, b1);
#pragma unroll
    for (int v = 0; v < 4; ++v) c[v] += fresh[v];
}

// One tile's product over the parts: c += A_hi·B_hi; for float32 also the cross terms
// A_hi·B_lo + A_lo·B_hi, into `small` (a separate chain, so the small terms are not absorbed
// into the large sum one by one). b: [part][b0, b1]. BP (parts of B) is kParts, or 2 with 16-bit
// A when the B operand alone comes in a high and a low part (the forward's SPLIT_H): then
// small += A·B_lo.
template <class S, int BP = MmaTraits<S>::kParts>
__device__ __forceinline__ void mma_parts(float (&c)[4], float (&small)[4], const unsigned (&a)[MmaTraits<S>::kParts][4],
                                          const unsigned (&b)[BP][2]) {
    using M = MmaTraits<S>;
    static_assert(BP == M::kParts || (BP == 2 && M::kParts == 1), "B comes in A's parts, or split beside a whole 16-bit A");
    M::mma(c, a[0], b[0][0], b[0][1]);
    if constexpr (BP == 2) M::mma(small, a[0], b[1][0], b[1][1]);
    if constexpr (M::kParts == 2) M::mma(small, a[1], b[0][0], b[0][1]);
}

// A batch-major operand tile in shared memory: 8 columns (batch) × K values, stored per column.
// Row stride in words ≡ 4 (mod 8) so the 32 lanes of a B-fragment load hit 32 distinct banks.
template <class S, int K>
struct OperandTile {
    using M = MmaTraits<S>;
    static constexpr int kWordsPerColumn = K / M::kPerWord + 4;
    static constexpr int kWords = 8 * kWordsPerColumn;   // [8 batch, K]

    // The B fragment of K-range [k0, k0 + kK) for this lane.
    __device__ __forceinline__ static void load_b(const unsigned* tile, int k0, unsigned& b0, unsigned& b1) {
        const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
        const unsigned* column = tile + g * kWordsPerColumn;
        if constexpr (M::kPerWord == 2) {
            b0 = column[(k0 >> 1) + q];
            b1 = column[(k0 >> 1) + q + 4];
        } else {
            b0 = column[k0 + q];
            b1 = column[k0 + q + 4];
        }
    }

    // The same fragment, addressed from the lane's first word of the tile. The one-SM backward
    // reads with it: its loads of a step then share one base with constant offsets, where
    // load_b's form put an address add before each (SASS, eighth session). The forwards keep
    // load_b: with this form ptxas scheduled the one-SM forward at DP = 64 differently (1720 →
    // 1760 instructions), and in the closing call its B = 128 forward was 10 % slower than the
    // seventh session's.
    __device__ __forceinline__ static void load_b_from_lane(const unsigned* tile, int k0, unsigned& b0, unsigned& b1) {
        const unsigned* laneB = lane_b(tile) + (M::kPerWord == 2 ? k0 >> 1 : k0);
        b0 = laneB[0];
        b1 = laneB[4];
    }

    // This lane's first B-fragment word of the tile (K tile 0's b0).
    __device__ __forceinline__ static const unsigned* lane_b(const unsigned* tile) {
        const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
        return tile + g * kWordsPerColumn + q;
    }

    // Stores v rounded to the operand format at (column, k) of `tile`, and what the rounding left
    // over, rounded the same way, at the same place of the tile that follows it: a product over
    // both parts sees v to about twice the operand's precision.
    __device__ __forceinline__ static void store_split(unsigned* tile, int column, int k, float v) {
        float high;
        if constexpr (M::kPerWord == 2) high = S::rounded(v);
        else high = __uint_as_float(to_tf32(v));
        store(tile, column, k, high);
        store(tile + kWords, column, k, v - high);
    }

    // Stores value v at (batch column, k) in the operand format (TF32 bits for float32).
    __device__ __forceinline__ static void store(unsigned* tile, int column, int k, float v) {
        if constexpr (M::kPerWord == 2) {
            S::store(reinterpret_cast<typename S::Bits*>(tile + column * kWordsPerColumn) + k, v);
        } else {
            tile[column * kWordsPerColumn + k] = to_tf32(v);
        }
    }
};

}  // namespace fused
}  // namespace flashrnn
