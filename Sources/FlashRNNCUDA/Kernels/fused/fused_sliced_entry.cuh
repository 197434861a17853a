// The sliced kernels of the fused backend (a head split over KS CTAs: one thread-block cluster,
// or beyond a cluster's capacity KS co-resident CTAs of a cooperative grid), instantiated by
// NVRTC name expressions such as
//   &flashrnn::fused::sliced_forward_kernel<flashrnn::LSTMCell, flashrnn::BF16, 64, 4, 2, 20, 2>
// Template arguments: the cell, the storage type (flashrnn::F16 | BF16), DS (features per CTA,
// a multiple of 16), KS (CTAs per head = cluster size, set at launch), KW (warps splitting the
// K range of each group of 16 features), AREG (R tiles per warp kept in registers) and, for the
// cluster kernels, SYNC (how a step's exchange completes: kSyncBarrier, kSyncSplitBarrier,
// kSyncMbarrier in fused_sliced_cluster.cuh), for the grid kernels PROTOCOL (kGridCounter when
// not named, kGridTagged; fused_sliced_grid.cuh). Backends/FusedSlicedVariant.swift chooses them. dR and the float32 →
// storage conversion are fused_weight_gradient.cuh's weight_gradient_kernel and finish_gradients_kernel.
#pragma once
#include "fused/fused_entry.cuh"
#include "fused/fused_sliced_forward.cuh"
#include "fused/fused_sliced_backward.cuh"
#include "fused/fused_sliced_grid.cuh"

namespace flashrnn {
namespace fused {

template <class Cell, class S, int DS, int KS, int KW, int AREG, int SYNC>
__global__ void __launch_bounds__(DS / 16 * KW * 32, 1) sliced_forward_kernel(const FusedParams p) {
    ClusterExchange<KS, SYNC> x;
    sliced_forward_sweep<Cell, S, DS, KS, KW, AREG>(p, x);
}

template <class Cell, class S, int DS, int KS, int KW, int AREG, int SYNC>
__global__ void __launch_bounds__(DS / 16 * KW * 32, 1) sliced_backward_kernel(const FusedParams p) {
    ClusterExchange<KS, SYNC> x;
    sliced_backward_sweep<Cell, S, DS, KS, KW, AREG>(p, x);
}

// A head beyond one cluster: the KS CTAs of a (head, batch slice) exchange through global memory
// (GridExchange); launched cooperatively so that every CTA is resident.
template <class Cell, class S, int DS, int KS, int KW, int AREG, int PROTOCOL = kGridCounter>
__global__ void __launch_bounds__(DS / 16 * KW * 32, 1) grid_forward_kernel(const FusedParams p, const GridExchangeParams g) {
    GridExchange<KS, DS / 16 * KW * 32, PROTOCOL> x(g, SlicedShape<Cell, S, DS, KS, AREG, KW>::HTile::kWords);
    sliced_forward_sweep<Cell, S, DS, KS, KW, AREG>(p, x);
}

template <class Cell, class S, int DS, int KS, int KW, int AREG, int PROTOCOL = kGridCounter>
__global__ void __launch_bounds__(DS / 16 * KW * 32, 1) grid_backward_kernel(const FusedParams p, const GridExchangeParams g) {
    GridExchange<KS, DS / 16 * KW * 32, PROTOCOL> x(g, SlicedShape<Cell, S, DS, KS, AREG, KW>::GTile::kWords);
    sliced_backward_sweep<Cell, S, DS, KS, KW, AREG>(p, x);
}

}  // namespace fused
}  // namespace flashrnn
