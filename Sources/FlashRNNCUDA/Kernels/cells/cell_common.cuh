// Shared helpers for the cell structs. Twin of Sources/FlashRNNCore/Cells/RecurrentCell.swift.
//
// Every cell struct has the same members as its Swift twin:
//   kGatesR, kGatesW, kGatesT, kStates        (G_R, G_W, G_T, S of the spec)
//   kRecurrentGateOffset, kInputGateOffset     (where the R and Wx gates sit among the G_T pre-activations)
//   forward(pre[G_T], previous[S]) -> next[S]
//   backward(pre[G_T], previous[S], dNew[S]) -> dPre[G_T], dPrevious[S]   (recomputes what it needs)
// Arrays are float[4] (the largest G_T and S); unused entries are zero. Arithmetic is M::Scalar
// (float64 for AccurateMath, float32 for ApproximateMath), rounded to float once per output;
// forward/backward/gates take the policy M (cell_math.cuh), accurate by default.
// FLASHRNN_HD lets the same code compile for the host, so tests can pin the twins together.
#pragma once

#ifndef FLASHRNN_HD
#define FLASHRNN_HD __device__ __forceinline__
#endif

#include "cell_math.cuh"
